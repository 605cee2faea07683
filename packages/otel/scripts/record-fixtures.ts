/*
 * Records the spans the real SDKs emit, as JSON fixtures for the mapping tests:
 *   pnpm --filter @chorus/otel exec tsx scripts/record-fixtures.ts [ai-sdk|openinference|openai]
 * The Vercel AI SDK (`ai` 6, experimental_telemetry, driven by its own MockLanguageModelV3) and
 * the OpenInference LangChain instrumentation (driven by `fakeModel()`) run offline; their spans
 * are captured by an InMemorySpanExporter and written as they were, ids and attributes intact.
 * OpenTelemetry's own OpenAI instrumentation (`@opentelemetry/instrumentation-openai`, GenAI
 * semantic conventions) drives the real `openai` SDK against a local server that answers as the
 * Chat Completions API does (a tool call, an answer, a stream, an embedding, an error).
 */
import { writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { OpenAIInstrumentation } from "@opentelemetry/instrumentation-openai";
import { LangChainInstrumentation } from "@arizeai/openinference-instrumentation-langchain";
import * as CallbackManagerModule from "@langchain/core/callbacks/manager";
import { context, metrics } from "@opentelemetry/api";
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

/** What the Chat Completions and Embeddings endpoints answer, enough for the SDK to parse. */
function fakeOpenAi() {
  let calls = 0;
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", () => {
      const request = JSON.parse(body) as { model: string; stream?: boolean };
      const created = 1_764_800_000;
      const json = (status: number, value: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(value));
      };
      if (req.url?.endsWith("/embeddings")) {
        json(200, {
          object: "list",
          model: request.model,
          data: [{ object: "embedding", index: 0, embedding: [0.1, 0.2, 0.3] }],
          usage: { prompt_tokens: 4, total_tokens: 4 },
        });
        return;
      }
      if (request.model === "no-such-model") {
        json(404, {
          error: {
            message: "The model `no-such-model` does not exist",
            type: "invalid_request_error",
            code: "model_not_found",
          },
        });
        return;
      }
      calls++;
      const base = {
        id: `chatcmpl-${calls}`,
        object: "chat.completion",
        created,
        model: `${request.model}-2025-01-01`,
      };
      if (request.stream) {
        res.writeHead(200, { "content-type": "text/event-stream" });
        const chunk = (delta: object, finish: string | null, usage?: object) =>
          `data: ${JSON.stringify({ ...base, object: "chat.completion.chunk", choices: usage ? [] : [{ index: 0, delta, finish_reason: finish }], ...(usage ? { usage } : {}) })}\n\n`;
        res.write(chunk({ role: "assistant", content: "" }, null));
        res.write(chunk({ content: "Sunny " }, null));
        res.write(chunk({ content: "all day." }, null));
        res.write(chunk({}, "stop"));
        res.write(chunk({}, null, { prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 }));
        res.end("data: [DONE]\n\n");
        return;
      }
      const toolCall = calls === 1;
      json(200, {
        ...base,
        choices: [
          {
            index: 0,
            finish_reason: toolCall ? "tool_calls" : "stop",
            message: toolCall
              ? {
                  role: "assistant",
                  content: null,
                  tool_calls: [
                    {
                      id: "call_1",
                      type: "function",
                      function: { name: "get_weather", arguments: '{"city":"Paris"}' },
                    },
                  ],
                }
              : { role: "assistant", content: "It is sunny in Paris." },
          },
        ],
        usage: {
          prompt_tokens: toolCall ? 20 : 31,
          completion_tokens: toolCall ? 12 : 7,
          total_tokens: toolCall ? 32 : 38,
        },
      });
    });
  });
  return server;
}

async function recordOpenAiInstrumentation() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const instrumentation = new OpenAIInstrumentation();
  instrumentation.setTracerProvider(provider);
  // It records token usage as metrics too, and needs a meter provider for that (the no-op one).
  instrumentation.setMeterProvider(metrics.getMeterProvider());
  instrumentation.enable();
  // The instrumentation patches the SDK as it is required (require-in-the-middle).
  const { OpenAI } = createRequire(import.meta.url)("openai") as typeof import("openai");
  const server = fakeOpenAi();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const client = new OpenAI({
    apiKey: "sk-test",
    baseURL: `http://127.0.0.1:${port}/v1`,
    maxRetries: 0,
  });
  const tools = [
    {
      type: "function" as const,
      function: {
        name: "get_weather",
        description: "weather in a city",
        parameters: {
          type: "object",
          properties: { city: { type: "string" } },
          required: ["city"],
        },
      },
    },
  ];
  const messages: import("openai").OpenAI.Chat.ChatCompletionMessageParam[] = [
    { role: "system", content: "You answer weather questions." },
    { role: "user", content: "Weather in Paris?" },
  ];
  // The application's own span around its tool loop, as a real app has: the chat spans nest in it.
  const appTracer = provider.getTracer("weather-app");
  await appTracer.startActiveSpan("weather-question", async (run) => {
    const first = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages,
      tools,
      temperature: 0.2,
      max_tokens: 200,
    });
    const call = first.choices[0]?.message.tool_calls?.[0];
    messages.push(
      first.choices[0]?.message as import("openai").OpenAI.Chat.ChatCompletionMessageParam,
    );
    messages.push({ role: "tool", tool_call_id: call?.id ?? "call_1", content: "sunny in Paris" });
    await client.chat.completions.create({ model: "gpt-4o-mini", messages, tools });
    run.end();
  });
  const stream = await client.chat.completions.create({
    model: "gpt-4o-mini",
    messages: [{ role: "user", content: "And tomorrow?" }],
    stream: true,
    stream_options: { include_usage: true },
  });
  for await (const _ of stream) {
    // read the stream to its end, as an application would
  }
  await client.embeddings.create({ model: "text-embedding-3-small", input: "Paris" });
  await client.chat.completions.create({ model: "no-such-model", messages }).catch(() => {});
  server.close();
  await provider.forceFlush();
  instrumentation.disable();
  writeFileSync(
    new URL("openai-instrumentation.json", out),
    `${JSON.stringify(serialize(exporter.getFinishedSpans()), null, 1)}\n`,
  );
}

// `tsx scripts/record-fixtures.ts [ai-sdk] [openinference] [openai]`: only those; default all.
const recorders = {
  "ai-sdk": recordAiSdk,
  openinference: recordOpenInference,
  openai: recordOpenAiInstrumentation,
};
const chosen = process.argv.slice(2);
for (const [name, record] of Object.entries(recorders)) {
  if (chosen.length === 0 || chosen.includes(name)) await record();
}
