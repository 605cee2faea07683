import { fileURLToPath } from "node:url";

/**
 * Folder of the console's built static files: hand it to the hub as `consoleDir`
 * (or `CHORUS_CONSOLE_DIR`) and the hub serves the console at `/`.
 *
 * @example
 * import { consoleAssetsDir } from "@chorus/console";
 * const hub = await createHub({ consoleDir: consoleAssetsDir });
 */
export const consoleAssetsDir: string = fileURLToPath(new URL("./www", import.meta.url));

export interface ConsoleLinkOptions {
  /** An API key to sign in with. It rides in the fragment, which never reaches a server. */
  key?: string | undefined;
  channel?: string | undefined;
  view?: "timeline" | "trace" | "intents" | "usage" | undefined;
}

/**
 * The link a person clicks to open the console of the hub at `url`: `http://hub/#key=…&channel=…`.
 * The page trades the key for a short-lived token and removes it from the address bar at once.
 *
 * @example
 * console.log(consoleLink(hub.url, { key: hub.devKey, channel: "research" }));
 */
export function consoleLink(url: string, options: ConsoleLinkOptions = {}): string {
  const params = new URLSearchParams();
  if (options.key) params.set("key", options.key);
  if (options.channel) params.set("channel", options.channel);
  if (options.view && options.view !== "timeline") params.set("view", options.view);
  const fragment = params.toString();
  return `${url.replace(/\/+$/, "")}/${fragment ? `#${fragment}` : ""}`;
}
