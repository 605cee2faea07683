/*
 * Records the spans the real SDKs emit, as JSON fixtures for the mapping tests:
 *   pnpm --filter @chorus/otel exec tsx scripts/record-fixtures.ts
 * The Vercel AI SDK (`ai` 6, experimental_telemetry, driven by its own MockLanguageModelV3) and
 * the OpenInference LangChain instrumentation (driven by `fakeModel()`) run offline; their spans
 * are captured by an InMemorySpanExporter and written as they were, ids and attributes intact.
 */
import { writeFileSync } from "node:fs";
import { LangChainInstrumentation } from "@arizeai/openinference-instrumentation-langchain";
import * as CallbackManagerModule from "@langchain/core/callbacks/manager";
import { context } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { AIMessage } from "@langchain/core/messages";
import { fakeModel } from "@langchain/core/testing";
import { tool as lcTool } from "@langchain/core/tools";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { generateObject, generateText, stepCountIs, streamText, tool } from "ai";
import { MockLanguageModelV3, simulateReadableStream } from "ai/test";
import { createAgent } from "langchain";
import { z } from "zod";

// Parent links need an async context manager, as any real setup registers.
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

const out = new URL("../test/fixtures/", import.meta.url);

function serialize(spans: ReadableSpan[]) {
  return spans.map((s) => ({
    name: s.name,
    kind: s.kind,
    traceId: s.spanContext().traceId,
    spanId: s.spanContext().spanId,
    parentSpanId: s.parentSpanContext?.spanId,
    startTime: s.startTime,
    endTime: s.endTime,
    status: s.status,
    attributes: s.attributes,
    events: s.events.map((e) => ({ name: e.name, time: e.time, attributes: e.attributes })),
    scope: s.instrumentationScope.name,
  }));
}

const usage = {
  inputTokens: { total: 12, noCache: 10, cacheRead: 2, cacheWrite: undefined },
  outputTokens: { total: 7, text: 7, reasoning: undefined },
};

async function recordAiSdk() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer("ai");
  const weather = tool({
    description: "weather in a city",
    inputSchema: z.object({ city: z.string() }),
    execute: async ({ city }) => ({ city, forecast: "sunny" }),
  });
  const model = new MockLanguageModelV3({
    provider: "mock-provider",
    modelId: "mock-model",
    doGenerate: [
      {
        content: [
          {
            type: "tool-call",
            toolCallId: "call_1",
            toolName: "weather",
            input: '{"city":"Paris"}',
          },
        ],
        finishReason: { unified: "tool-calls", raw: "tool_use" },
        usage,
        warnings: [],
      },
      {
        content: [{ type: "text", text: "It is sunny in Paris." }],
        finishReason: { unified: "stop", raw: "end_turn" },
        usage,
        warnings: [],
      },
    ],
  });
  await generateText({
    model,
    tools: { weather },
    stopWhen: stepCountIs(3),
    prompt: "Weather in Paris?",
    experimental_telemetry: { isEnabled: true, functionId: "weather-agent", tracer },
  });

  const streaming = new MockLanguageModelV3({
    provider: "mock-provider",
    modelId: "mock-model",
    doStream: {
      stream: simulateReadableStream({
        chunks: [
          { type: "text-start", id: "t1" },
          { type: "text-delta", id: "t1", delta: "Hello" },
          { type: "text-delta", id: "t1", delta: " world" },
          { type: "text-end", id: "t1" },
          { type: "finish", finishReason: { unified: "stop", raw: "stop" }, usage },
        ],
      }),
    },
  });
  const stream = streamText({
    model: streaming,
    prompt: "Say hello",
    experimental_telemetry: { isEnabled: true, functionId: "greeter", tracer },
  });
  await stream.text;

  const failing = new MockLanguageModelV3({
    doGenerate: async () => {
      throw new Error("provider overloaded");
    },
  });
  await generateText({
    model: failing,
    prompt: "Fail",
    maxRetries: 0,
    experimental_telemetry: { isEnabled: true, functionId: "failing", tracer },
  }).catch(() => {});

  const objects = new MockLanguageModelV3({
    doGenerate: {
      content: [{ type: "text", text: '{"city":"Paris"}' }],
      finishReason: { unified: "stop", raw: "stop" },
      usage,
      warnings: [],
    },
  });
  await generateObject({
    model: objects,
    schema: z.object({ city: z.string() }),
    prompt: "A city",
    experimental_telemetry: { isEnabled: true, functionId: "extract", tracer },
  });
  await provider.forceFlush();
  writeFileSync(
    new URL("ai-sdk-6.json", out),
    `${JSON.stringify(serialize(exporter.getFinishedSpans()), null, 1)}\n`,
  );
}

async function recordOpenInference() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const instrumentation = new LangChainInstrumentation({ tracerProvider: provider });
  instrumentation.manuallyInstrument(CallbackManagerModule);
  const getWeather = lcTool(async ({ city }: { city: string }) => `sunny in ${city}`, {
    name: "get_weather",
    description: "weather in a city",
    schema: z.object({ city: z.string() }),
  });
  const model = fakeModel()
    .respondWithTools([{ name: "get_weather", args: { city: "Paris" }, id: "call_1" }])
    .respond(new AIMessage("It is sunny."));
  const agent = createAgent({ model, tools: [getWeather], name: "weather_agent" });
  await agent.invoke({ messages: [{ role: "user", content: "Weather in Paris?" }] });
  await provider.forceFlush();
  instrumentation.disable();
  writeFileSync(
    new URL("openinference-langchain.json", out),
    `${JSON.stringify(serialize(exporter.getFinishedSpans()), null, 1)}\n`,
  );
}

await recordAiSdk();
await recordOpenInference();
