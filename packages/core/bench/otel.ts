import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { Chorus } from "../src/index.js";
import { startReceiver } from "../../../scripts/bench-receiver-client.js";
import { toolEvent } from "./servers.js";
import { measure } from "./stats.js";

/*
 * `pnpm bench:otel`: the client against the tool users would otherwise reach for, OpenTelemetry
 * (NodeTracerProvider + BatchSpanProcessor + OTLP/HTTP exporter), in one run.
 *
 * - Both send to the same receiver, a separate process that counts what arrives, so every byte
 *   of delivery is billed to the client process and nothing of the receiver is.
 * - Rounds are interleaved (A B, then B A, ...) so drift of a shared machine hits both; each
 *   figure is `median [min–max]` over rounds. No forced GC anywhere in a measured window.
 * - The same tool call is recorded by both: Chorus `emit()` of a `tool.start`, OTel a span
 *   started and ended with the same fields as attributes (arguments as a JSON string, as OTel
 *   attributes must be).
 */

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const STEADY_SECONDS = Number(process.env.BENCH_STEADY_SECONDS ?? 5);
const RATE = 1000; // events per second in the steady run
const SAMPLE = { blocks: 300, blockSize: 100, warmupBlocks: 50 };
const KEY = "key_bench_0123456789";

interface Contender {
  name: string;
  record(i: number): void;
  /** Deliver everything recorded so far. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

function chorusContender(url: string): Contender {
  const chorus = new Chorus({
    url,
    apiKey: KEY,
    channel: "bench",
    logger: false,
    drainOnExit: false,
  });
  return {
    name: "Chorus emit()",
    record: (i) => void chorus.emit(toolEvent(i)),
    flush: async () => void (await chorus.flush(30_000)),
    close: () => chorus.close(1000),
  };
}

function otelContender(url: string): Contender {
  const provider = new NodeTracerProvider({
    spanProcessors: [
      new BatchSpanProcessor(new OTLPTraceExporter({ url: `${url}/v1/traces` }), {
        // The SDK's defaults, spelled out: 5 s delay, 512 spans per export, queue of 2048.
        scheduledDelayMillis: 5000,
        maxExportBatchSize: 512,
        maxQueueSize: 2048,
      }),
    ],
  });
  const tracer = provider.getTracer("bench");
  return {
    name: "OTel span start+end",
    record: (i) => {
      const span = tracer.startSpan("execute_tool search", {
        attributes: {
          "gen_ai.operation.name": "execute_tool",
          "gen_ai.tool.name": "search",
          "gen_ai.tool.call.id": `call-${i}`,
          "gen_ai.tool.call.arguments": JSON.stringify({ query: "what is chorus", limit: 10 }),
          "gen_ai.agent.name": "bench-agent",
          "gen_ai.request.model": "model-x",
        },
      });
      span.end();
    },
    flush: () => provider.forceFlush(),
    close: () => provider.shutdown(),
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2
    ? (s[(s.length - 1) / 2] as number)
    : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};
const fmt = (xs: number[], digits = 2, unit = "") =>
  `${median(xs).toFixed(digits)}${unit} [${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}]`;
const p99 = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0
    ? Number.NaN
    : (s[Math.min(s.length - 1, Math.ceil(0.99 * s.length) - 1)] as number);
};

/** A steady RATE events/s for STEADY_SECONDS, then delivery of the rest; CPU of this process. */
async function steady(record: ((i: number) => void) | undefined, flush: () => Promise<void>) {
  const perTick = RATE / 100;
  const ticks = STEADY_SECONDS * 100;
  const cpu = process.cpuUsage();
  const started = performance.now();
  let i = 0;
  for (let t = 0; t < ticks; t++) {
    if (record) for (let k = 0; k < perTick; k++) record(i++);
    // Pace by the wall clock, one tick per 10 ms, as a real agent's events trickle in.
    const next = started + (t + 1) * 10;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - performance.now())));
  }
  await flush();
  const used = process.cpuUsage(cpu);
  return { cpuMicros: used.user + used.system, events: ticks * perTick };
}

async function main(): Promise<void> {
  const receiver = await startReceiver();
  const chorus = chorusContender(receiver.url);
  const otel = otelContender(receiver.url);
  const emitRatio: number[] = [];
  const emitNs: Record<string, number[]> = { chorus: [], otel: [] };
  const cpuRatio: number[] = [];
  const cpuPerEvent: Record<string, number[]> = { chorus: [], otel: [], loop: [] };
  const perRequest: Record<string, number[]> = { chorus: [], otel: [] };
  const latencyP99: Record<string, number[]> = { chorus: [], otel: [] };
  try {
    // Warm-up, discarded: JIT, connection pools and the receiver, for both.
    for (const c of [chorus, otel]) {
      await measure(c.record, { blocks: 100, blockSize: 100, warmupBlocks: 0 });
      await c.flush();
    }
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? [chorus, otel] : [otel, chorus];
      // 1. Per-call cost on the caller's path.
      const p50: Record<string, number> = {};
      for (const c of order) {
        p50[c.name] = (await measure(c.record, SAMPLE)).p50;
        await c.flush();
      }
      const c50 = p50[chorus.name] as number;
      const o50 = p50[otel.name] as number;
      emitNs.chorus?.push(c50);
      emitNs.otel?.push(o50);
      emitRatio.push(c50 / o50);

      // 2. CPU per event at a steady 1,000 ev/s, delivery included; the loop alone as baseline.
      const loop = await steady(undefined, async () => {});
      cpuPerEvent.loop?.push(loop.cpuMicros / loop.events);
      const net: Record<string, number> = {};
      for (const c of order) {
        await receiver.reset();
        const run = await steady(c.record, c.flush);
        const key = c === chorus ? "chorus" : "otel";
        net[key] = (run.cpuMicros - loop.cpuMicros) / run.events;
        cpuPerEvent[key]?.push(net[key] as number);
        const s = await receiver.stats();
        const side = key === "chorus" ? s.events : s.traces;
        if (side.items !== run.events)
          throw new Error(`${c.name}: receiver got ${side.items} of ${run.events}`);
        perRequest[key]?.push(side.items / side.requests);
        latencyP99[key]?.push(p99(side.latencies));
      }
      cpuRatio.push((net.chorus as number) / (net.otel as number));
      process.stderr.write(`round ${round + 1}/${ROUNDS} done\n`);
    }
  } finally {
    await chorus.close();
    await otel.close();
    receiver.stop();
  }

  const rows = [
    [
      "per call p50 (ns)",
      fmt(emitNs.chorus ?? [], 0),
      fmt(emitNs.otel ?? [], 0),
      fmt(emitRatio, 2, "×"),
    ],
    [
      `client CPU per event at ${RATE} ev/s, delivery included (µs, net of the loop)`,
      fmt(cpuPerEvent.chorus ?? []),
      fmt(cpuPerEvent.otel ?? []),
      fmt(cpuRatio, 2, "×"),
    ],
    [
      "events per HTTP request",
      fmt(perRequest.chorus ?? [], 0),
      fmt(perRequest.otel ?? [], 0),
      "-",
    ],
    ["emit→receiver p99 (ms)", fmt(latencyP99.chorus ?? [], 0), fmt(latencyP99.otel ?? [], 0), "-"],
  ];
  console.log("| measure | Chorus | OTel (same run) | Chorus / OTel |");
  console.log("|---|---|---|---|");
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
  console.log(
    `\n${ROUNDS} interleaved rounds, median [min–max]; steady runs of ${STEADY_SECONDS} s at ${RATE} ev/s; ` +
      `loop alone ${fmt(cpuPerEvent.loop ?? [])} µs/event; node ${process.version}, ${process.platform}/${process.arch}`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
