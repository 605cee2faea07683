import { readFileSync } from "node:fs";
import type { Attributes } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as OTLPProtoTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { Chorus } from "@chorus/core";
import { startReceiver } from "../../../scripts/bench-receiver-client.js";
import { ChorusSpanProcessor } from "../src/index.js";

/*
 * `pnpm bench`: what `ChorusSpanProcessor` adds per span, against what the usual way of shipping
 * the same spans adds (BatchSpanProcessor + an OTLP/HTTP exporter), in one run. Issue 13's
 * target: Chorus added ÷ BatchSpanProcessor+OTLP added ≤ 1.0. Both OTLP/HTTP encodings are run:
 * protobuf, the protocol the OTel spec and `@opentelemetry/sdk-node` default to
 * (`OTEL_EXPORTER_OTLP_PROTOCOL` unset means `http/protobuf`), and JSON.
 *
 * - Spans are the recorded fixtures' GenAI spans (AI SDK 6 `doGenerate`/`doStream` and
 *   `ai.toolCall`, `gen_ai.*` chat and execute_tool), replayed through a real tracer: request
 *   attributes at start, response attributes (usage, finish reason, output, tool result) set
 *   before `end()`, as the instrumentations do.
 * - Four tracer providers: no processor (baseline: the SDK's own span cost), ChorusSpanProcessor
 *   with a real Chorus client, BatchSpanProcessor with the OTLP/HTTP protobuf exporter, and with
 *   the OTLP/HTTP JSON exporter. All deliver to one counting receiver in another process
 *   (`scripts/bench-receiver.mjs`); delivery is inside the window (`chorus.flush()`,
 *   `provider.forceFlush()`). Every span must arrive: the receiver counts Chorus events and JSON
 *   spans, and the spans the protobuf exporter reported as exported are counted here (a
 *   BatchSpanProcessor whose queue overflowed would drop spans and look cheaper).
 * - CPU µs of this process per span; rounds interleave the variants (rotating who goes first);
 *   no GC is forced; figures are `median [min–max]` over rounds.
 */

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 60);
const SPANS = Number(process.env.BENCH_SPANS ?? 2000);
/** Spans between yields to the event loop, so exporters' timers and sockets run as in an app. */
const BURST = 20;

interface RecordedSpan {
  name: string;
  attributes: Attributes;
}

/** Attributes an instrumentation sets once the call is done; the rest are known at start. */
const RESPONSE =
  /^(ai\.response\.|ai\.usage\.|gen_ai\.response\.|gen_ai\.usage\.|gen_ai\.output\.|ai\.toolCall\.result|gen_ai\.tool\.call\.result)/;

interface SpanShape {
  name: string;
  start: Attributes;
  end: Attributes;
}

function shapes(): SpanShape[] {
  const read = (name: string) =>
    JSON.parse(
      readFileSync(new URL(`../test/fixtures/${name}.json`, import.meta.url), "utf8"),
    ) as RecordedSpan[];
  const aiSdk = read("ai-sdk-6").filter((s) =>
    /\.(doGenerate|doStream)$|^ai\.toolCall$/.test(String(s.attributes["ai.operationId"])),
  );
  const genAi = read("gen-ai-semconv").filter((s) =>
    ["chat", "execute_tool"].includes(String(s.attributes["gen_ai.operation.name"])),
  );
  return [...aiSdk, ...genAi].map((s) => {
    const start: Attributes = {};
    const end: Attributes = {};
    for (const [k, v] of Object.entries(s.attributes)) (RESPONSE.test(k) ? end : start)[k] = v;
    return { name: s.name, start, end };
  });
}

interface Variant {
  name: string;
  provider: BasicTracerProvider;
  flush(): Promise<void>;
}

function variant(name: string, processors: SpanProcessor[], flush: () => Promise<void>): Variant {
  return { name, provider: new BasicTracerProvider({ spanProcessors: processors }), flush };
}

/** CPU µs of this process per span, delivery of what the window produced included. */
async function timeSpans(v: Variant, spans: SpanShape[], count: number): Promise<number> {
  const tracer = v.provider.getTracer("bench");
  await v.flush(); // what an earlier window left is not this one's
  const started = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    const shape = spans[i % spans.length] as SpanShape;
    const span = tracer.startSpan(shape.name, { attributes: shape.start });
    span.setAttributes(shape.end);
    span.end();
    if (i % BURST === BURST - 1) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  await v.flush();
  const used = process.cpuUsage(started);
  return (used.user + used.system) / count;
}

/** The exporter, reporting how many spans each successful export carried. */
function counting(exporter: SpanExporter, exported: (spans: number) => void): SpanExporter {
  return {
    export(spans, done) {
      exporter.export(spans, (result) => {
        if (result.code === 0) exported(spans.length); // ExportResultCode.SUCCESS
        done(result);
      });
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}
const fmt = (n: number, digits: number) =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const spread = (values: number[], digits = 2) =>
  `${fmt(median(values), digits)} [${fmt(Math.min(...values), digits)}–${fmt(Math.max(...values), digits)}]`;

async function main(): Promise<void> {
  const receiver = await startReceiver();
  const chorus = new Chorus({
    url: receiver.url,
    apiKey: "bench_key_0123456789",
    channel: "bench",
    logger: false,
    drainOnExit: false,
  });
  const spans = shapes();
  const nothing = async () => {};
  let protoExported = 0;
  const proto = counting(
    new OTLPProtoTraceExporter({ url: `${receiver.url}/v1/traces` }),
    (n) => (protoExported += n),
  );
  const protoBatch = new BatchSpanProcessor(proto);
  const jsonBatch = new BatchSpanProcessor(
    new OTLPTraceExporter({ url: `${receiver.url}/v1/traces` }),
  );
  const variants: Variant[] = [
    variant("baseline", [], nothing),
    variant(
      "ChorusSpanProcessor",
      [new ChorusSpanProcessor({ chorus, logger: false, linkEmits: false })],
      async () => void (await chorus.flush(30_000)),
    ),
    variant("BatchSpanProcessor + OTLP/HTTP protobuf", [protoBatch], () => protoBatch.forceFlush()),
    variant("BatchSpanProcessor + OTLP/HTTP JSON", [jsonBatch], () => jsonBatch.forceFlush()),
  ];

  for (const v of variants) await timeSpans(v, spans, SPANS); // warm-up: JIT, sockets
  await receiver.reset();
  protoExported = 0;
  const samples: number[][] = variants.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < variants.length; k++) {
      const index = (r + k) % variants.length;
      samples[index]?.push(await timeSpans(variants[index] as Variant, spans, SPANS));
    }
    process.stderr.write(`round ${r + 1}/${ROUNDS}\n`);
  }
  const stats = await receiver.stats();
  // Every span of the fixtures set is a GenAI span: two events each (start, end or error).
  const expectedEvents = ROUNDS * SPANS * 2;
  const expectedSpans = ROUNDS * SPANS;
  if (
    stats.events.items !== expectedEvents ||
    stats.traces.items !== expectedSpans ||
    protoExported !== expectedSpans
  )
    throw new Error(
      `receiver got ${stats.events.items}/${expectedEvents} events, ${stats.traces.items}/${expectedSpans} JSON spans; ${protoExported}/${expectedSpans} protobuf spans exported`,
    );

  const [base, chorusCpu, protoCpu, jsonCpu] = samples as [number[], number[], number[], number[]];
  const added = (cpu: number[]) => cpu.map((x, r) => x - (base[r] as number));
  const oursAdded = added(chorusCpu);
  const protoAdded = added(protoCpu);
  const jsonAdded = added(jsonCpu);
  const ratio = (anchor: number[]) => oursAdded.map((x, r) => x / (anchor[r] as number));
  console.log(
    `\nGenAI spans (${spans.map((s) => s.name).join(", ")}): ${ROUNDS} rounds × ${SPANS} spans, CPU µs per span, median [min–max] over rounds, Node ${process.version}\n`,
  );
  console.log(
    "| baseline (SDK span, no processor) µs | ChorusSpanProcessor added µs | BatchSpanProcessor + OTLP/HTTP protobuf added µs | BatchSpanProcessor + OTLP/HTTP JSON added µs | Chorus ÷ OTLP protobuf (the SDK's default) | Chorus ÷ OTLP JSON |",
  );
  console.log("|---:|---:|---:|---:|---:|---:|");
  console.log(
    `| ${spread(base, 1)} | ${spread(oursAdded, 1)} | ${spread(protoAdded, 1)} | ${spread(jsonAdded, 1)} | ${spread(ratio(protoAdded))} | ${spread(ratio(jsonAdded))} |`,
  );
  console.log(
    `\nreceiver: ${stats.events.items} Chorus events in ${stats.events.requests} requests (${stats.events.bytes} bytes); ` +
      `${stats.traces.items} OTLP JSON spans and ${protoExported} OTLP protobuf spans in ${stats.traces.requests} requests (${stats.traces.bytes} bytes)`,
  );
  await chorus.close(1000);
  for (const v of variants) await v.provider.shutdown();
  receiver.stop();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
