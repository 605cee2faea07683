/*
 * The page's address is its state: `#channel=research&view=trace&trace=…` reopens the same
 * view. A credential may arrive in the fragment too (`#key=…` or `#token=…`, which never reaches
 * a server or its logs); `takeCredential` removes it from the address bar at once.
 */

export type View = "timeline" | "trace" | "intents" | "usage";
export const VIEWS: readonly View[] = ["timeline", "trace", "intents", "usage"];

export interface Route {
  view: View;
  channel: string;
  /** The trace open in the Trace view. */
  trace?: string | undefined;
  /** The intent open in the Intents view. */
  intent?: string | undefined;
}

export const DEFAULT_CHANNEL = "default";

export function parseRoute(hash: string): Route {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const view = params.get("view") as View | null;
  return {
    view: view && VIEWS.includes(view) ? view : "timeline",
    channel: params.get("channel") || DEFAULT_CHANNEL,
    trace: params.get("trace") || undefined,
    intent: params.get("intent") || undefined,
  };
}

export function formatRoute(route: Route): string {
  const params = new URLSearchParams();
  params.set("channel", route.channel);
  if (route.view !== "timeline") params.set("view", route.view);
  if (route.trace) params.set("trace", route.trace);
  if (route.intent) params.set("intent", route.intent);
  return `#${params.toString()}`;
}

export interface Credential {
  kind: "key" | "token";
  value: string;
}

/** The credential in the fragment, if any, after removing it from the address and history. */
export function takeCredential(location: Location, history: History): Credential | undefined {
  const params = new URLSearchParams(location.hash.replace(/^#/, ""));
  const key = params.get("key");
  const token = params.get("token");
  if (key === null && token === null) return undefined;
  params.delete("key");
  params.delete("token");
  const rest = params.toString();
  history.replaceState(null, "", `${location.pathname}${location.search}${rest ? `#${rest}` : ""}`);
  if (key) return { kind: "key", value: key };
  if (token) return { kind: "token", value: token };
  return undefined;
}
