import { Chorus } from "@chorus/core";
import { setTraceProcessors, setTracingDisabled, type TracingProcessor } from "@openai/agents";
import { instrument } from "../src/index.js";
import { BENCH_KEY, startHubProcess } from "./hub-process.js";
import { createLoop, type Loop } from "./loop.js";

/*
 * Added cost per run of instrument() on a scripted agent loop (tool call + final answer), beside
 * the same loop without it, in one process and one run. Scenarios are interleaved round by round
 * so drift (JIT, GC, a busy neighbour) hits all of them alike; each figure is the median over
 * rounds. Two measures per window of runs:
 *  - wall time per run: what the run itself takes (background sends that happen meanwhile on the
 *    same event loop are in it; waiting for the hub is not, since no run waits for it);
 *  - CPU time per run of this process, with the window's events delivered (`flush()`) to a real
 *    hub in a child process: everything the instrumentation costs the application.
 */
const RUNS = Number(process.env.BENCH_RUNS ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 300);

interface Scenario {
  name: string;
  loop: Loop;
  processors: TracingProcessor[];
  chorus?: Chorus;
  wall: number[];
  cpu: number[];
}

async function main(): Promise<void> {
  const hub = await startHubProcess();
  const client = (extra: object = {}) =>
    new Chorus({
      url: hub.url,
      apiKey: BENCH_KEY,
      channel: "bench",
      logger: false,
      drainOnExit: false,
      ...extra,
    });
  setTracingDisabled(false);

  const scenarios: Scenario[] = [];
  const add = (
    name: string,
    make: (loop: Loop) => { processors: TracingProcessor[]; chorus?: Chorus },
  ) => {
    const loop = createLoop();
    scenarios.push({ name, loop, wall: [], cpu: [], ...make(loop) });
  };
  add("SDK tracing on, no processor (baseline)", () => ({ processors: [] }));
  add("instrument(): spans", () => {
    const chorus = client();
    return { processors: [instrument({ chorus, logger: false }).processor], chorus };
  });
  add("instrument(): spans + runner hooks", (loop) => {
    const chorus = client();
    return {
      processors: [instrument({ chorus, logger: false, hooks: loop.runner }).processor],
      chorus,
    };
  });
  add('instrument(): capture "metadata"', () => {
    const chorus = client({ capture: "metadata" });
    return { processors: [instrument({ chorus, logger: false }).processor], chorus };
  });
  add("instrument(): mapping only (client disabled)", () => {
    const chorus = client({ enabled: false });
    return { processors: [instrument({ chorus, logger: false }).processor], chorus };
  });

  for (const s of scenarios) await window(s, WARMUP);
  for (let round = 0; round < ROUNDS; round++) {
    for (const s of scenarios) {
      const { wall, cpu } = await window(s, RUNS);
      s.wall.push(wall);
      s.cpu.push(cpu);
    }
  }
  setTraceProcessors([]);

  const baseWall = median(scenarios[0]?.wall ?? [1]);
  const baseCpu = median(scenarios[0]?.cpu ?? [1]);
  const sent = scenarios[1]?.chorus?.stats().sent ?? 0;
  console.log(
    `\nScripted agent loop (2 model calls + 1 tool), ${RUNS} runs × ${ROUNDS} rounds, median per run\n`,
  );
  console.log(
    "| scenario | wall µs/run | added | ratio | CPU µs/run incl. delivery | added | ratio |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|");
  for (const s of scenarios) {
    const wall = median(s.wall);
    const cpu = median(s.cpu);
    console.log(
      `| ${s.name} | ${wall.toFixed(0)} | ${(wall - baseWall).toFixed(0)} | ${(wall / baseWall).toFixed(2)} | ${cpu.toFixed(0)} | ${(cpu - baseCpu).toFixed(0)} | ${(cpu / baseCpu).toFixed(2)} |`,
    );
  }
  console.log(
    `\n(events delivered by the "spans" client: ${sent}, i.e. ${(sent / (WARMUP + RUNS * ROUNDS || 1)).toFixed(1)} per run)`,
  );
  await Promise.all(scenarios.map((s) => s.chorus?.close(2000)));
  hub.stop();
}

/** Wall and CPU µs per run over `runs` runs (CPU with the window's events delivered). */
async function window(s: Scenario, runs: number): Promise<{ wall: number; cpu: number }> {
  setTraceProcessors(s.processors);
  await s.chorus?.flush(10_000); // the switch above flushes; do not bill it to this window
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) await s.loop.runOnce();
  const wall = Number(process.hrtime.bigint() - started) / 1000 / runs;
  await s.chorus?.flush(10_000);
  const cpu = process.cpuUsage(cpuBefore);
  return { wall, cpu: (cpu.user + cpu.system) / runs };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
