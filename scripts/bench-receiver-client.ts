import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** What `scripts/bench-receiver.mjs` counted, per route family. */
export interface ReceiverCounts {
  requests: number;
  bytes: number;
  items: number;
  /** Per item: arrival minus its own timestamp, in ms (Chorus events, JSON OTLP spans). */
  latencies: number[];
}
export interface ReceiverStats {
  events: ReceiverCounts;
  traces: ReceiverCounts;
  other: ReceiverCounts;
}

export interface Receiver {
  url: string;
  stats(): Promise<ReceiverStats>;
  reset(): Promise<void>;
  stop(): void;
}

/**
 * Start the benches' counting receiver (`scripts/bench-receiver.mjs`) in its own process, so
 * what a client spends delivering is billed to the client and nothing the receiver does is.
 * The script is found from the workspace root, so this works from a bench's source and from
 * its bundle alike.
 */
export async function startReceiver(): Promise<Receiver> {
  const child = spawn(process.execPath, [join(workspaceRoot(), "scripts", "bench-receiver.mjs")], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.stdout.once("data", (chunk: Buffer) => resolve(JSON.parse(chunk.toString()).port));
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    stats: async () => (await (await fetch(`${url}/stats`)).json()) as ReceiverStats,
    reset: async () => void (await fetch(`${url}/reset`, { method: "POST" })),
    stop: () => child.kill(),
  };
}

function workspaceRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "pnpm-workspace.yaml"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error("bench receiver: no pnpm-workspace.yaml above this file");
    dir = up;
  }
  return dir;
}
