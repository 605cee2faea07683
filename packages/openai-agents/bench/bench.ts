import { OpenInferenceTracingProcessor } from "@arizeai/openinference-instrumentation-openai-agents";
import { Chorus } from "@chorus/core";
import {
  BatchTraceProcessor,
  setTraceProcessors,
  setTracingDisabled,
  type TracingProcessor,
} from "@openai/agents";
import { OpenAITracingExporter } from "@openai/agents-openai";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { instrument } from "../src/index.js";
import { startReceiver } from "../../../scripts/bench-receiver-client.js";
import { createLoop, type Loop } from "./loop.js";

/*
 * Cost per run of a scripted agent loop (tool call + final answer) with each way of tracing it,
 * beside the same loop with tracing off, in one process and one run. Every tracer delivers to
 * one receiver in another process (`scripts/bench-receiver.mjs`) and its delivery is inside the
 * measured window, so all it costs this process is billed. Scenarios take turns round by round
 * (rotating who goes first) so drift hits all alike; figures are `median [min–max]` over
 * rounds. No GC is forced. The scripted model yields one event-loop turn per call, as a real
 * model call would, so background work runs where it would.
 *  - wall time per run: what the run itself takes;
 *  - CPU time per run of this process, with the window's output delivered;
 *  - added CPU: a scenario's CPU minus the baseline's in the same round. The target compares
 *    Chorus's added CPU with the SDK tracing's as a ratio of their medians: the SDK's added cost
 *    is small beside a round's noise, so a ratio per round swings (it is printed too).
 */
/** Defaults of the README's figures: fewer runs per round leave a round's noise larger than the figures. */
const RUNS = Number(process.env.BENCH_RUNS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 300);

interface Scenario {
  name: string;
  loop: Loop;
  tracing: boolean;
  processors: TracingProcessor[];
  /** Deliver what the window produced. */
  flush(): Promise<void>;
  wall: number[];
  cpu: number[];
}

async function main(): Promise<void> {
  const receiver = await startReceiver();
  const client = (extra: object = {}) =>
    new Chorus({
      url: receiver.url,
      apiKey: "key_bench_0123456789",
      channel: "bench",
      logger: false,
      drainOnExit: false,
      ...extra,
    });
  const clients: Chorus[] = [];

  const scenarios: Scenario[] = [];
  const add = (
    name: string,
    make: (loop: Loop) => Omit<Scenario, "name" | "loop" | "wall" | "cpu">,
  ) => {
    const loop = createLoop();
    scenarios.push({ name, loop, wall: [], cpu: [], ...make(loop) });
  };
  const nothing = async () => {};
  add("tracing off (baseline)", () => ({ tracing: false, processors: [], flush: nothing }));
  add("SDK's own default tracing (OpenAI exporter)", () => {
    const processor = new BatchTraceProcessor(
      new OpenAITracingExporter({ apiKey: "sk-bench", endpoint: `${receiver.url}/v1/traces` }),
    );
    return { tracing: true, processors: [processor], flush: () => processor.forceFlush() };
  });
  add("SDK tracing on, a processor that does nothing (the SDK's span work alone)", () => {
    const methods = [
      "onTraceStart",
      "onTraceEnd",
      "onSpanStart",
      "onSpanEnd",
      "shutdown",
      "forceFlush",
    ];
    const idle = Object.fromEntries(
      methods.map((m) => [m, async () => {}]),
    ) as unknown as TracingProcessor;
    return { tracing: true, processors: [idle], flush: nothing };
  });
  add("OpenInference (OTel, BatchSpanProcessor, OTLP/HTTP)", () => {
    const provider = new NodeTracerProvider({
      spanProcessors: [
        new BatchSpanProcessor(new OTLPTraceExporter({ url: `${receiver.url}/v1/traces` })),
      ],
    });
    const processor = new OpenInferenceTracingProcessor({ tracerProvider: provider });
    return { tracing: true, processors: [processor], flush: () => provider.forceFlush() };
  });
  add("Chorus instrument()", () => {
    const chorus = client();
    clients.push(chorus);
    return {
      tracing: true,
      processors: [instrument({ chorus, logger: false }).processor],
      flush: async () => void (await chorus.flush(10_000)),
    };
  });
  add("Chorus instrument() + runner hooks", (loop) => {
    const chorus = client();
    clients.push(chorus);
    return {
      tracing: true,
      processors: [instrument({ chorus, logger: false, hooks: loop.runner }).processor],
      flush: async () => void (await chorus.flush(10_000)),
    };
  });

  for (const s of scenarios) await window(s, WARMUP);
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < scenarios.length; k++) {
      const s = scenarios[(round + k) % scenarios.length] as Scenario;
      const { wall, cpu } = await window(s, RUNS);
      s.wall.push(wall);
      s.cpu.push(cpu);
    }
  }
  setTraceProcessors([]);

  const [base, sdk] = scenarios as [Scenario, Scenario];
  // What a scenario adds to the same round's baseline (rounds pair up, so drift cancels).
  const added = (s: Scenario) => s.cpu.map((cpu, r) => cpu - (base.cpu[r] as number));
  const sdkAdded = added(sdk);
  const stats = await receiver.stats();
  // Everything each tracer produced reached the receiver: a tracer that dropped part of its
  // output (the SDK's BatchTraceProcessor drops past 1,000 queued items) would be billed less.
  // Per run: the SDK exports 1 trace + 5 spans; Chorus emits 10 events, 11 with runner hooks.
  const runs = WARMUP + ROUNDS * RUNS;
  if (stats.traces.items !== runs * 6 || stats.events.items !== runs * 21)
    throw new Error(
      `receiver got ${stats.traces.items}/${runs * 6} SDK trace items, ${stats.events.items}/${runs * 21} Chorus events`,
    );
  console.log(
    `\nScripted agent loop (2 model calls + 1 tool), ${RUNS} runs × ${ROUNDS} rounds, per run, median [min–max] over rounds, node ${process.version}\n`,
  );
  console.log(
    "| scenario | wall µs/run | CPU µs/run incl. delivery | CPU ÷ tracing off | added CPU µs/run | added ÷ SDK tracing's (medians) | same, per round |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|");
  for (const s of scenarios) {
    if (s === base) {
      console.log(`| ${s.name} | ${spread(s.wall)} | ${spread(s.cpu)} | – | – | – | – |`);
      continue;
    }
    const a = added(s);
    console.log(
      `| ${s.name} | ${spread(s.wall)} | ${spread(s.cpu)} | ${spread(
        s.cpu.map((cpu, r) => cpu / (base.cpu[r] as number)),
        2,
      )} | ${spread(a)} | ${(median(a) / median(sdkAdded)).toFixed(2)} | ${spread(
        a.map((x, r) => x / (sdkAdded[r] as number)),
        2,
      )} |`,
    );
  }
  console.log(
    `\n(receiver: ${stats.events.items} Chorus events in ${stats.events.requests} requests; ${stats.traces.items} SDK trace items in ${stats.traces.requests} trace exports, OpenInference's included)`,
  );
  await Promise.all(clients.map((c) => c.close(2000)));
  receiver.stop();
}

/** Wall and CPU µs per run over `runs` runs (CPU with the window's events delivered). */
async function window(s: Scenario, runs: number): Promise<{ wall: number; cpu: number }> {
  setTracingDisabled(!s.tracing);
  setTraceProcessors(s.processors);
  await s.flush(); // the switch above flushes; do not bill it to this window
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) await s.loop.runOnce();
  const wall = Number(process.hrtime.bigint() - started) / 1000 / runs;
  await s.flush();
  const cpu = process.cpuUsage(cpuBefore);
  return { wall, cpu: (cpu.user + cpu.system) / runs };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

const spread = (values: number[], digits = 0) =>
  `${median(values).toFixed(digits)} [${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}]`;

main().catch((error) => {
  console.error(error);
  process.exit(1); // the receiver (a child process) would keep this one alive
});
