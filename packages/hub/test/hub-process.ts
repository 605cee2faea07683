import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { HubOptions } from "../src/index.js";
import { KEY_A, KEY_B, ORG_A, ORG_B } from "./helpers.js";

/** A hub in a child process (the built dist), so a test can kill it as a crash would. */
export interface HubProcess {
  url: string;
  child: ChildProcess;
  /** SIGKILL: no shutdown path runs, nothing is released. Resolves once the process is gone. */
  kill(): Promise<void>;
}

/** Start a hub in its own Node process with the test keys; `options` must be JSON. */
export async function startHubProcess(options: HubOptions): Promise<HubProcess> {
  const dist = pathToFileURL(join(import.meta.dirname, "..", "dist", "index.js")).href;
  const config = {
    port: 0,
    mqttPort: false,
    logger: false,
    apiKeys: `${ORG_A}:${KEY_A},${ORG_B}:${KEY_B}`,
    ...options,
  };
  const script = `
    const { createHub } = await import(${JSON.stringify(dist)});
    const hub = await createHub(${JSON.stringify(config)});
    process.stdout.write(JSON.stringify({ url: hub.url }) + "\\n");
  `;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk) => {
    stderr += String(chunk);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (chunk) => {
      out += String(chunk);
      const line = out.split("\n")[0];
      if (out.includes("\n") && line) resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once("exit", (code) => reject(new Error(`hub process exited (${code}): ${stderr}`)));
  });
  return {
    url,
    child,
    async kill() {
      child.kill("SIGKILL");
      await exited;
    },
  };
}
