import { spawn } from "node:child_process";
import { createServer, type Socket } from "node:net";
import type { EmitEvent } from "../src/index.js";

export const BENCH_KEY = "key_bench_0123456789";

/**
 * A real hub in a child process, so the hub's CPU work does not run on the client's thread and
 * distort the client's numbers. Resolves `@chorus/hub` from the package folder.
 */
export async function startHubProcess(
  cwd: string,
): Promise<{ url: string; stop(): Promise<void> }> {
  const script = `
    const { createHub } = await import("@chorus/hub");
    const hub = await createHub({ port: 0, mqttPort: false, db: ":memory:", logger: false, apiKeys: "bench:${BENCH_KEY}" });
    process.stdout.write(JSON.stringify({ url: hub.url }) + "\\n");
    process.on("SIGTERM", () => hub.close().then(() => process.exit(0)));
  `;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
    cwd,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let buffered = "";
    child.stdout.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const line = buffered.split("\n")[0];
      if (buffered.includes("\n") && line) resolve((JSON.parse(line) as { url: string }).url);
    });
    child.on("exit", (code) => reject(new Error(`hub process exited with ${code}`)));
  });
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        child.removeAllListeners("exit");
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

/** A server that accepts connections and never answers: a hung hub. */
export async function startHangingServer(): Promise<{
  url: string;
  /** Connections open now. */
  readonly accepted: number;
  stop(): Promise<void>;
}> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    get accepted() {
      return sockets.size;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on: a hub that is down. */
export async function refusedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** A typical adapter event: a tool call with arguments, stamped and captured by emit(). */
export function toolEvent(i: number): EmitEvent {
  return {
    type: "tool.start",
    agent: "bench-agent",
    payload: {
      name: "search",
      callId: `call-${i}`,
      arguments: { query: "what is chorus", limit: 10 },
    },
    metadata: { framework: "bench", model: "model-x" },
  };
}
