import { awaitAllCallbacks } from "@langchain/core/callbacks/promises";
import { question, scriptedAgent } from "./agent.js";
import {
  bare,
  chorusHubDown,
  chorusSink,
  emptyHandler,
  langfuse,
  openInference,
  type Variant,
} from "./variants.js";

/*
 * Added cost per agent run of each LangChain instrumentation, beside the same loop without any,
 * all in this one process and run: the ratio and added-µs columns are the figures to compare;
 * absolute numbers depend on the machine. Variants take turns within each round (rotating who
 * goes first) so JIT warm-up, GC and machine noise spread over all of them; the median over
 * rounds is reported.
 */
const RUNS = Number(process.env.BENCH_RUNS ?? 25);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 24);
const WARMUP_RUNS = Number(process.env.BENCH_WARMUP ?? 100);

const gc = (globalThis as { gc?: () => void }).gc;

interface Sample {
  /** CPU time of this process (all threads: JIT, GC) per run: what the instrumentation costs. */
  cpuUs: number;
  /** Wall-clock time per run: what the caller waits; noisier on a shared machine. */
  wallUs: number;
  produced: number;
}

/** One batch of runs, including LangChain's background callback queue draining. */
async function batch(variant: Variant, runs: number): Promise<Sample> {
  const agent = scriptedAgent(runs);
  gc?.();
  variant.before?.();
  const cpu = process.cpuUsage();
  const started = performance.now();
  try {
    for (let i = 0; i < runs; i++) await agent.invoke(question, { callbacks: variant.callbacks });
    await awaitAllCallbacks();
  } finally {
    variant.after?.();
  }
  const wallUs = ((performance.now() - started) * 1000) / runs;
  const used = process.cpuUsage(cpu);
  return { cpuUs: (used.user + used.system) / runs, wallUs, produced: variant.produced() / runs };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function main(): Promise<void> {
  const variants = [
    bare(),
    emptyHandler(),
    chorusSink(),
    await chorusHubDown(),
    langfuse(),
    openInference(),
  ];
  for (const v of variants) await batch(v, WARMUP_RUNS);

  const samples = new Map<Variant, Sample[]>(variants.map((v) => [v, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(round + k) % variants.length]!;
      samples.get(v)!.push(await batch(v, RUNS));
    }
  }

  const stat = (v: Variant, key: keyof Sample) => median(samples.get(v)!.map((s) => s[key]));
  const [baseline] = variants;
  const baseCpu = stat(baseline!, "cpuUs");
  const baseWall = stat(baseline!, "wallUs");
  console.log(
    `\nLangChain createAgent loop (fakeModel: one tool call, then the answer), ${ROUNDS} rounds × ${RUNS} runs per variant, median per run, node ${process.version}\n`,
  );
  console.log(
    "| variant | CPU µs/run | added CPU µs/run | CPU ratio | wall µs/run | wall ratio | spans or events/run |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|");
  for (const v of variants) {
    const cpu = stat(v, "cpuUs");
    const wall = stat(v, "wallUs");
    const isBase = v === baseline;
    console.log(
      `| ${v.name} | ${cpu.toFixed(0)} | ${isBase ? "–" : (cpu - baseCpu).toFixed(0)} | ${(cpu / baseCpu).toFixed(3)} | ${wall.toFixed(0)} | ${(wall / baseWall).toFixed(3)} | ${isBase ? "–" : stat(v, "produced").toFixed(1)} |`,
    );
  }
  for (const v of variants) await v.close();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
