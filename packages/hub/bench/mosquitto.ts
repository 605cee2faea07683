import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "./clock.js";
import { freePort } from "../test/free-port.js";

export interface Mosquitto {
  url: string;
  pid: number;
  close(): Promise<void>;
}

/**
 * Debian's Mosquitto on a free port: the baseline broker. Queues unbounded, so it never drops a
 * QoS 0 message the bench counts (the most generous setting for the baseline). `noDelay` turns
 * Nagle's algorithm off on its sockets, as the hub's, for the latency baseline; the throughput
 * baselines keep Mosquitto's default, under which small writes are coalesced.
 */
export async function startMosquitto(options: { noDelay?: boolean } = {}): Promise<Mosquitto> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "chorus-bench-mosquitto-"));
  const conf = join(dir, "mosquitto.conf");
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      "allow_anonymous true",
      "persistence false",
      "max_queued_messages 0",
      "max_queued_bytes 0",
      `set_tcp_nodelay ${options.noDelay === true}`,
      "log_dest none",
      "",
    ].join("\n"),
  );
  const binary = process.env.BENCH_MOSQUITTO ?? "mosquitto";
  const child: ChildProcess = spawn(binary, ["-c", conf], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  const failed = new Promise<never>((_, reject) => {
    child.once("error", (error) =>
      reject(new Error(`cannot run ${binary} (apt-get install mosquitto): ${error.message}`)),
    );
    child.once("exit", (code) => reject(new Error(`mosquitto exited (${code}): ${stderr}`)));
  });
  failed.catch(() => {});
  const listening = waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const probe = createServer();
        probe.once("error", () => resolve(true));
        probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(false)));
      }),
    10_000,
  );
  if (!(await Promise.race([listening, failed]))) throw new Error("mosquitto did not listen");
  return {
    url: `mqtt://127.0.0.1:${port}`,
    pid: child.pid as number,
    async close() {
      child.kill("SIGTERM");
      if (child.exitCode === null) await new Promise((resolve) => child.once("exit", resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
