import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { BENCH_KEY, startHangingServer, startHubProcess } from "./servers.js";

/*
 * How long a process that used Chorus lives after its own work, per hub state (up, refused,
 * accepting and never answering), with `close(CLOSE_MS)` and without close (the exit drain,
 * `drainTimeoutMs` = DRAIN_MS). Each case is a child process that emits 20 events and then
 * ends. The child writes the wall-clock time its work ended (after the emits, before `close()`)
 * to stdout; the parent takes the time of its exit. The figure is that span minus the same
 * span of a child with Chorus imported and no events (node's own teardown), paired round by
 * round, `median [min–max]`. The targets: within CLOSE_MS + 100 ms with close, within
 * DRAIN_MS without.
 * Run with `pnpm --filter @chorus/core bench:exit` (builds nothing: run `pnpm build` first).
 */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 11);
const CLOSE_MS = 500;
const DRAIN_MS = 500;
const dist = fileURLToPath(new URL("../dist/index.js", import.meta.url));

function script(mode: "bare" | "close" | "exit"): string {
  return `
    import { Chorus } from ${JSON.stringify(dist)};
    const chorus = new Chorus({ channel: "exit-bench" });
    if (${JSON.stringify(mode)} !== "bare") {
      for (let i = 0; i < 20; i++) chorus.emit({ type: "custom", payload: { i } });
    }
    process.stdout.write(String(performance.timeOrigin + performance.now()));
    if (${JSON.stringify(mode)} === "close") await chorus.close(${CLOSE_MS});
  `;
}

/** Milliseconds from the end of the child's work (its own clock reading) to its exit. */
function afterWork(url: string, mode: "bare" | "close" | "exit"): Promise<number> {
  return new Promise((resolve, reject) => {
    let workEnded = "";
    const child = spawn(process.execPath, ["--input-type=module", "-e", script(mode)], {
      env: {
        ...process.env,
        CHORUS_URL: url,
        CHORUS_API_KEY: BENCH_KEY,
        CHORUS_TIMEOUT_MS: "60000",
        CHORUS_DRAIN_TIMEOUT_MS: String(DRAIN_MS),
        CHORUS_LOG_LEVEL: "silent",
      },
      stdio: ["ignore", "pipe", "ignore"],
    });
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      workEnded += chunk;
    });
    const watchdog = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("exit", (code, signal) => {
      const exited = performance.timeOrigin + performance.now();
      clearTimeout(watchdog);
      const ended = Number(workEnded);
      if (code === 0 && Number.isFinite(ended)) resolve(exited - ended);
      else reject(new Error(`child ended with ${code ?? signal} (work end: ${workEnded})`));
    });
  });
}

async function refusedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

const spread = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  return `${median.toFixed(0)} [${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)}]`;
};

async function main(): Promise<void> {
  const hub = await startHubProcess(fileURLToPath(new URL("..", import.meta.url)));
  const hanging = await startHangingServer();
  const hubs = {
    up: hub.url,
    "down (refused)": await refusedUrl(),
    "hangs (no answer)": hanging.url,
  };
  const rows: string[] = [];
  const results = new Map<string, number[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const [state, url] of Object.entries(hubs)) {
      const bare = await afterWork(url, "bare");
      for (const mode of ["close", "exit"] as const) {
        const key = `${state}|${mode}`;
        const list = results.get(key) ?? [];
        list.push((await afterWork(url, mode)) - bare);
        results.set(key, list);
      }
    }
  }
  for (const [key, values] of results) {
    const [state, mode] = key.split("|");
    const how = mode === "close" ? `close(${CLOSE_MS})` : `no close (drain ${DRAIN_MS} ms)`;
    rows.push(`| ${state} | ${how} | ${spread(values)} |`);
  }
  console.log(
    `\nTime from the end of the work to the exit, ms beyond a bare child's (node ${process.version}, ${ROUNDS} rounds)\n`,
  );
  console.log("| hub | how the process ends | ms after its work, median [min–max] |");
  console.log("|---|---|---:|");
  for (const row of rows) console.log(row);
  await hanging.stop();
  await hub.stop();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
