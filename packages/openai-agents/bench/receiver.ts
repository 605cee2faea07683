import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export interface ReceiverStats {
  events: { requests: number; items: number };
  traces: { requests: number; items: number };
}

/**
 * The counting receiver (`scripts/bench-receiver.mjs`) in a child process: what it does must
 * not be billed to the run being measured, as it would be if it shared this event loop.
 */
export async function startReceiver(): Promise<{
  url: string;
  stats(): Promise<ReceiverStats>;
  stop(): void;
}> {
  const script = fileURLToPath(new URL("../../../scripts/bench-receiver.mjs", import.meta.url));
  const child = spawn(process.execPath, [script], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.stdout.once("data", (chunk: Buffer) => resolve(JSON.parse(chunk.toString()).port));
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    stats: async () => (await (await fetch(`${url}/stats`)).json()) as ReceiverStats,
    stop: () => child.kill(),
  };
}
