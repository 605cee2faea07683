import { readFileSync } from "node:fs";
import { KEY_A, KEY_B, ORG_A, ORG_B } from "./keys.js";
import { Child } from "./ipc.js";

export interface HubChild {
  url: string;
  mqttUrl: string;
  httpPort: number;
  pid: number;
  /** The hub's resident set, read from /proc by this process (outside the hub). */
  rss(): number;
  /** The hub's own view: heap and buffers (process.memoryUsage in the hub). */
  memory(): Promise<{ rss: number; heapUsed: number; external: number; arrayBuffers: number }>;
  /** The hub's event-loop delay (ms, p99 and max) since the last call. */
  loopDelay(): Promise<{ p99: number; max: number }>;
  close(): Promise<void>;
}

/**
 * Start a hub in a child process: two orgs, no request rate limit (the bench is the load, not
 * an abuser), and room for 1,000 streams on one key. `BENCH_CPU_PROF=dir` profiles it.
 */
export async function startHubChild(
  options: { db?: string; delivery?: Record<string, number> } = {},
): Promise<HubChild> {
  const profDir = process.env.BENCH_CPU_PROF;
  const child = new Child("hub-process.js", {
    execArgv: profDir ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`] : [],
  });
  const started = await child.request("start", {
    options: {
      port: 0,
      mqttPort: 0,
      host: "127.0.0.1",
      db: options.db ?? ":memory:",
      logger: false,
      apiKeys: `${ORG_A}:${KEY_A},${ORG_B}:${KEY_B}`,
      rateLimit: false,
      delivery: { maxStreamsPerKey: 4096, ...options.delivery },
    },
  });
  return {
    url: started.url,
    mqttUrl: started.mqttUrl,
    httpPort: started.httpPort,
    pid: child.pid,
    rss: () => rssOf(child.pid),
    memory: () => child.request("memory"),
    loopDelay: () => child.request("loop"),
    close: () => child.stop(),
  };
}

/** VmRSS of a process in bytes, from /proc (Linux). */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for ${pid}`);
  return Number(kb) * 1024;
}
