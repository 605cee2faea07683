import { trace } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { Chorus } from "@chorus/core";
import {
  generateText,
  jsonSchema,
  type LanguageModel,
  stepCountIs,
  streamText,
  type TelemetrySettings,
  tool,
  wrapLanguageModel,
} from "ai";
import { convertArrayToReadableStream, MockLanguageModelV3 } from "ai/test";
import { startReceiver } from "../../../scripts/bench-receiver-client.js";
import { chorusMiddleware } from "../src/index.js";

/*
 * What the Chorus middleware adds to an AI SDK call, against what the SDK's own
 * `experimental_telemetry` adds with an OpenTelemetry tracer (NodeTracerProvider +
 * BatchSpanProcessor + OTLP/HTTP exporter), the way teams export AI SDK traces to Langfuse or
 * Phoenix today. Issue 13's target: Chorus's added cost per `generateText` ≤ telemetry's.
 *
 * The model is the SDK's own mock (`ai/test`) answering from memory, so the SDK's work is the
 * whole baseline and nothing hides behind network noise. Both variants deliver to one counting
 * receiver in another process (`scripts/bench-receiver.mjs`), delivery inside the window
 * (`chorus.flush()`, `provider.forceFlush()`). Variants:
 *   - baseline: the bare model, no telemetry;
 *   - Chorus: the model wrapped with `chorusMiddleware`, a real Chorus client;
 *   - OTel: the bare model with `experimental_telemetry: { isEnabled: true, tracer }`.
 *
 * The added costs are small differences of large numbers (a call is ~400 µs of SDK work, the
 * telemetry ~100 µs), so a round is built to cancel drift in the machine's speed: it is BLOCKS
 * blocks of BLOCK_CALLS calls per variant, the variants interleaved block by block (baseline,
 * Chorus, OTel, then the next block in a rotated order), each block timed with its own delivery.
 * A round's figure per variant is the sum over its blocks; its added cost is that sum minus the
 * baseline's sum from the same blocks, and its ratio is Chorus added ÷ OTel added of that round.
 * No GC is forced; figures are `median [min–max]` over rounds.
 */

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 11);
/** Blocks per round per variant, interleaved. */
const BLOCKS = Number(process.env.BENCH_BLOCKS ?? 10);
/** Calls per block: long enough to time (50–200 ms), short enough that neighbours see one machine. */
const BLOCK_CALLS = Number(process.env.BENCH_BLOCK_CALLS ?? 100);

const usage = {
  inputTokens: { total: 120, noCache: 120, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 40, text: 40, reasoning: undefined },
};
const answer = "The quick brown fox jumps over the lazy dog. ".repeat(4);

/** Answers from the prompt: a tool call first, the answer once a tool result is in the prompt. */
function benchModel(): MockLanguageModelV3 {
  const toolTurn = (prompt: readonly { role: string }[]) =>
    prompt.at(-1)?.role !== "tool" && prompt.some((m) => m.role === "system");
  return new MockLanguageModelV3({
    provider: "openai.chat",
    modelId: "gpt-bench",
    doGenerate: async ({ prompt }) => ({
      content: toolTurn(prompt)
        ? [
            {
              type: "tool-call",
              toolCallId: "call_bench",
              toolName: "weather",
              input: '{"city":"Paris"}',
            },
          ]
        : [{ type: "text", text: answer }],
      finishReason: { unified: toolTurn(prompt) ? "tool-calls" : "stop", raw: undefined },
      usage,
      warnings: [],
      response: { id: "resp_bench", modelId: "gpt-bench", timestamp: new Date(0) },
    }),
    doStream: async () => ({
      stream: convertArrayToReadableStream([
        { type: "stream-start", warnings: [] },
        {
          type: "response-metadata",
          id: "resp_bench",
          modelId: "gpt-bench",
          timestamp: new Date(0),
        },
        { type: "text-start", id: "t" },
        ...answer.split(/(?<= )/).map((delta) => ({ type: "text-delta" as const, id: "t", delta })),
        { type: "text-end", id: "t" },
        { type: "finish", finishReason: { unified: "stop", raw: "stop" }, usage },
      ]),
    }),
  });
}

const weather = tool({
  description: "Current weather in a city",
  inputSchema: jsonSchema<{ city: string }>({
    type: "object",
    properties: { city: { type: "string" } },
  }),
  execute: async ({ city }) => ({ city, celsius: 18 }),
});

type Run = (model: LanguageModel, telemetry: TelemetrySettings | undefined) => Promise<unknown>;

const scenarios: { name: string; run: Run }[] = [
  {
    name: "generateText",
    run: (model, telemetry) =>
      generateText({ model, prompt: "Hello", experimental_telemetry: telemetry }),
  },
  {
    name: "generateText, tool loop (2 steps)",
    run: (model, telemetry) =>
      generateText({
        model,
        system: "You check the weather.",
        prompt: "Paris?",
        tools: { weather },
        stopWhen: stepCountIs(3),
        experimental_telemetry: telemetry,
      }),
  },
  {
    name: "streamText, read to the end",
    run: async (model, telemetry) => {
      const result = streamText({ model, prompt: "Hello", experimental_telemetry: telemetry });
      for await (const _ of result.textStream) {
        // read every delta
      }
    },
  },
];

interface Variant {
  name: string;
  model: LanguageModel;
  telemetry: TelemetrySettings | undefined;
  flush(): Promise<void>;
}

/** CPU µs of this process for `calls` calls, delivery of what the block produced included. */
async function timeBlock(variant: Variant, run: Run, calls: number): Promise<number> {
  await variant.flush(); // what an earlier block left is not this one's
  const started = process.cpuUsage();
  for (let i = 0; i < calls; i++) {
    await run(variant.model, variant.telemetry);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  await variant.flush();
  const used = process.cpuUsage(started);
  return used.user + used.system;
}

/** One round: CPU µs per call of each variant, from BLOCKS interleaved blocks each. */
async function round(variants: Variant[], run: Run, r: number): Promise<number[]> {
  const totals = variants.map(() => 0);
  for (let b = 0; b < BLOCKS; b++) {
    for (let k = 0; k < variants.length; k++) {
      const index = (r + b + k) % variants.length;
      totals[index] =
        (totals[index] as number) + (await timeBlock(variants[index] as Variant, run, BLOCK_CALLS));
    }
  }
  return totals.map((t) => t / (BLOCKS * BLOCK_CALLS));
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
    apiKey: "bench",
    logger: false,
    drainOnExit: false,
  });
  const provider = new NodeTracerProvider({
    spanProcessors: [
      new BatchSpanProcessor(new OTLPTraceExporter({ url: `${receiver.url}/v1/traces` })),
    ],
  });
  const tracer = provider.getTracer("ai-sdk-bench");
  trace.setGlobalTracerProvider(provider);
  const nothing = async () => {};
  const variants: Variant[] = [
    { name: "baseline", model: benchModel(), telemetry: undefined, flush: nothing },
    {
      name: "Chorus",
      model: wrapLanguageModel({ model: benchModel(), middleware: chorusMiddleware({ chorus }) }),
      telemetry: undefined,
      flush: async () => void (await chorus.flush(10_000)),
    },
    {
      name: "OTel",
      model: benchModel(),
      telemetry: { isEnabled: true, tracer },
      flush: () => provider.forceFlush(),
    },
  ];

  console.log(
    `\nAI SDK calls: ${ROUNDS} rounds × ${BLOCKS} interleaved blocks × ${BLOCK_CALLS} calls per variant, CPU µs per call, median [min–max] over rounds, Node ${process.version}\n`,
  );
  console.log(
    "| call | baseline µs | Chorus added µs | OTel added µs | Chorus added ÷ OTel added |",
  );
  console.log("|---|---:|---:|---:|---:|");
  for (const scenario of scenarios) {
    for (const v of variants) await timeBlock(v, scenario.run, 4 * BLOCK_CALLS); // warm-up
    const samples: number[][] = variants.map(() => []);
    for (let r = 0; r < ROUNDS; r++) {
      const perCall = await round(variants, scenario.run, r);
      for (const [i, x] of perCall.entries()) samples[i]?.push(x);
      process.stderr.write(`${scenario.name}: round ${r + 1}/${ROUNDS}\n`);
    }
    const [base, ours, otel] = samples as [number[], number[], number[]];
    const oursAdded = ours.map((x, r) => x - (base[r] as number));
    const otelAdded = otel.map((x, r) => x - (base[r] as number));
    const ratio = oursAdded.map((x, r) => x / (otelAdded[r] as number));
    console.log(
      `| ${scenario.name} | ${spread(base, 1)} | ${spread(oursAdded, 1)} | ${spread(otelAdded, 1)} | ${spread(ratio)} |`,
    );
  }
  const stats = await receiver.stats();
  console.log(
    `\nreceiver: ${stats.events.items} Chorus events in ${stats.events.requests} requests; ${stats.traces.requests} OTLP requests (${stats.traces.bytes} bytes)`,
  );
  await chorus.close(1000);
  await provider.shutdown();
  receiver.stop();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
