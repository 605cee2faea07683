import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const BENCH_KEY = "key_acme_0123456789";

/**
 * The real hub, in a child process: its ingest work must not be billed to the run being
 * measured, as it would be if it shared this event loop.
 */
export async function startHubProcess(): Promise<{ url: string; stop(): void }> {
  const code = `const { createHub } = await import("@chorus/hub");
const hub = await createHub({ port: 0, mqttPort: 0, db: ":memory:", logger: false, apiKeys: "acme:${BENCH_KEY}" });
console.log(hub.url);`;
  const cwd = join(dirname(fileURLToPath(import.meta.url)), "..");
  const child: ChildProcess = spawn(process.execPath, ["--input-type=module", "-e", code], {
    cwd,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once("error", reject);
    child.stdout?.once("data", (chunk: Buffer) => resolve(chunk.toString().trim()));
  });
  return { url, stop: () => child.kill() };
}
