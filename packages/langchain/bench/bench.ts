import { awaitAllCallbacks } from "@langchain/core/callbacks/promises";
import { startReceiver } from "../../../scripts/bench-receiver-client.js";
import { question, scriptedAgent } from "./agent.js";
import {
  bare,
  chorusDelivering,
  chorusHubDown,
  emptyHandler,
  langfuse,
  openInference,
  type Variant,
} from "./variants.js";

/*
 * Added cost per agent run of each LangChain instrumentation, beside the same loop without any,
 * all in this one process and run: the ratio and added-µs columns are the figures to compare;
 * absolute numbers depend on the machine. Variants take turns within each round (rotating who
 * goes first) so JIT warm-up, GC and machine noise spread over all of them; figures are
 * `median [min–max]` over rounds. Every variant that sends delivers to a receiver in another
 * process and its delivery is inside the measured window; no GC is forced; each run yields
 * one event-loop turn, as a real model call would, so background work runs where it would.
 */
const RUNS = Number(process.env.BENCH_RUNS ?? 25);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 24);
const WARMUP_RUNS = Number(process.env.BENCH_WARMUP ?? 100);

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

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
  variant.before?.();
  const cpu = process.cpuUsage();
  const started = performance.now();
  try {
    for (let i = 0; i < runs; i++) {
      await agent.invoke(question, { callbacks: variant.callbacks });
      await turn();
    }
    await awaitAllCallbacks();
  } finally {
    variant.after?.();
  }
  await variant.flush();
  const wallUs = ((performance.now() - started) * 1000) / runs;
  const used = process.cpuUsage(cpu);
  return { cpuUs: (used.user + used.system) / runs, wallUs, produced: variant.produced() / runs };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const spread = (values: number[], digits = 0) =>
  `${median(values).toFixed(digits)} [${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}]`;

async function main(): Promise<void> {
  const receiver = await startReceiver();
  const variants = [
    bare(),
    emptyHandler(),
    chorusDelivering(receiver.url),
    await chorusHubDown(),
    langfuse(receiver.url),
    openInference(receiver.url),
  ];
  for (const v of variants) await batch(v, WARMUP_RUNS);

  const samples = new Map<Variant, Sample[]>(variants.map((v) => [v, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(round + k) % variants.length]!;
      samples.get(v)!.push(await batch(v, RUNS));
    }
  }

  // Per round: each variant's CPU added over the bare loop of the same round.
  const [baseline] = variants;
  const added = (v: Variant) =>
    samples.get(v)!.map((s, round) => s.cpuUs - samples.get(baseline!)![round]!.cpuUs);
  const lf = variants.find((v) => v.name.startsWith("Langfuse"))!;
  console.log(
    `\nLangChain createAgent loop (fakeModel: one tool call, then the answer), ${ROUNDS} rounds × ${RUNS} runs per variant, per run, median [min–max] over rounds, node ${process.version}\n`,
  );
  console.log(
    "| variant | CPU µs/run | added CPU µs/run | added ÷ Langfuse's | wall µs/run | spans or events/run |",
  );
  console.log("|---|---:|---:|---:|---:|---:|");
  const lfAdded = added(lf);
  for (const v of variants) {
    const isBase = v === baseline;
    const mine = added(v);
    console.log(
      `| ${v.name} | ${spread(samples.get(v)!.map((s) => s.cpuUs))} | ${isBase ? "–" : spread(mine)} | ${
        isBase
          ? "–"
          : spread(
              mine.map((a, i) => a / lfAdded[i]!),
              2,
            )
      } | ${spread(samples.get(v)!.map((s) => s.wallUs))} | ${isBase ? "–" : median(samples.get(v)!.map((s) => s.produced)).toFixed(1)} |`,
    );
  }
  for (const v of variants) await v.close();
  receiver.stop();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
