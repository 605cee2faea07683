import { mapSpan, type MappedEvent } from "@chorus/protocol";
import { describe, expect, it } from "vitest";
import { loadFixture } from "./helpers/fixtures.js";

/*
 * The mapping (in @chorus/protocol, shared with the hub's OTLP ingest) fed with spans recorded
 * from the real SDKs by scripts/record-fixtures.ts.
 */
const mapAll = (name: string): MappedEvent[] => loadFixture(name).flatMap((s) => mapSpan(s));
const byType = (events: MappedEvent[], type: string) => events.filter((e) => e.type === type);

describe("Vercel AI SDK 6 spans (experimental_telemetry)", () => {
  const spans = loadFixture("ai-sdk-6");
  const events = mapAll("ai-sdk-6");

  it("a generateText run with a tool loop becomes agent, llm and tool events with the spans' ids", () => {
    const run = spans.find((s) => s.name === "ai.generateText" && s.status?.code === 0)!;
    const inRun = events.filter((e) => e.traceId === run.traceId);
    expect(inRun.map((e) => e.type).sort()).toEqual(
      [
        "agent.start",
        "agent.end",
        "llm.start",
        "llm.end",
        "llm.start",
        "llm.end",
        "tool.start",
        "tool.end",
      ].sort(),
    );
    const start = inRun.find((e) => e.type === "agent.start")!;
    expect(start).toMatchObject({
      spanId: run.spanId,
      agent: "weather-agent",
      payload: { name: "weather-agent", input: { prompt: "Weather in Paris?" } },
      metadata: { framework: "opentelemetry", convention: "ai-sdk", spanName: "ai.generateText" },
    });
    for (const e of inRun.filter((e) => e.type !== "agent.start" && e.type !== "agent.end"))
      expect(e.parentSpanId).toBe(run.spanId);

    const [first, second] = byType(inRun, "llm.end");
    expect(first!.payload).toMatchObject({
      model: "mock-model",
      provider: "mock-provider",
      finishReason: "tool_calls",
      usage: { inputTokens: 12, outputTokens: 7, totalTokens: 19, cacheReadTokens: 2 },
      toolCalls: [{ name: "weather", callId: "call_1" }],
    });
    expect(second!.payload).toMatchObject({
      finishReason: "stop",
      output: "It is sunny in Paris.",
    });
    const llmStart = byType(inRun, "llm.start")[0]!;
    expect(llmStart.payload).toMatchObject({
      model: "mock-model",
      tools: ["weather"],
      messages: [{ role: "user", content: [{ type: "text", text: "Weather in Paris?" }] }],
    });

    expect(byType(inRun, "tool.start")[0]!.payload).toEqual({
      name: "weather",
      callId: "call_1",
      arguments: { city: "Paris" },
    });
    expect(byType(inRun, "tool.end")[0]!.payload).toMatchObject({
      name: "weather",
      callId: "call_1",
      result: { city: "Paris", forecast: "sunny" },
    });
    expect(inRun.find((e) => e.type === "agent.end")!.payload).toMatchObject({
      name: "weather-agent",
      output: "It is sunny in Paris.",
    });
  });

  it("streamText: time to first token comes from the doStream span", () => {
    const stream = byType(events, "llm.end").find(
      (e) => e.metadata.spanName === "ai.streamText.doStream",
    )!;
    expect(stream.payload.timeToFirstTokenMs).toBeGreaterThan(0);
    expect(stream.payload.output).toBe("Hello world");
  });

  it("a failed call is llm.error and agent.error with the provider's message", () => {
    const errors = events.filter((e) => e.type.endsWith(".error"));
    expect(errors.map((e) => e.type).sort()).toEqual(["agent.error", "llm.error"]);
    for (const e of errors)
      expect(e.payload.error).toMatchObject({ message: "provider overloaded" });
  });

  it("generateObject: the object is the output, usage read from the older names", () => {
    const end = byType(events, "llm.end").find(
      (e) => e.metadata.spanName === "ai.generateObject.doGenerate",
    )!;
    expect(end.payload).toMatchObject({
      output: { city: "Paris" },
      usage: { inputTokens: 12, outputTokens: 7 },
    });
  });

  it("event ids derive from trace, span and phase, so a span exported twice is stored once", () => {
    const again = mapAll("ai-sdk-6");
    expect(again.map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
  });
});

describe("OpenInference spans (LangChain instrumentation, createAgent)", () => {
  const spans = loadFixture("openinference-langchain");
  const events = mapAll("openinference-langchain");

  it("the root chain is the agent run; LLM and TOOL spans become llm and tool events; plumbing is ignored", () => {
    const root = spans.find((s) => s.parentSpanId === undefined)!;
    expect(byType(events, "agent.start")).toHaveLength(1);
    expect(byType(events, "agent.start")[0]).toMatchObject({
      spanId: root.spanId,
      payload: { name: "weather_agent" },
    });
    expect(byType(events, "llm.start")).toHaveLength(2);
    expect(byType(events, "tool.start")).toHaveLength(1);
    expect(events).toHaveLength(2 + 4 + 2);
    expect(byType(events, "tool.start")[0]!.payload).toMatchObject({
      name: "get_weather",
      arguments: "Paris",
    });
    expect(byType(events, "llm.start")[0]!.payload).toMatchObject({
      messages: [{ role: "user", content: "Weather in Paris?" }],
    });
    expect(byType(events, "llm.end")[1]!.payload).toMatchObject({
      output: [{ role: "assistant", content: "It is sunny." }],
    });
  });
});

describe("OpenTelemetry's OpenAI instrumentation (GenAI conventions, recorded from the real SDK)", () => {
  const events = mapAll("openai-instrumentation");
  const spans = loadFixture("openai-instrumentation");
  const app = spans.find((s) => s.name === "weather-question")!;

  it("each chat call is llm.start and llm.end nested in the app's span; embeddings and the app span add nothing", () => {
    expect(events.map((e) => e.type)).toEqual([
      "llm.start",
      "llm.end",
      "llm.start",
      "llm.end",
      "llm.start",
      "llm.end",
      "llm.start",
      "llm.error",
    ]);
    const chats = spans.filter((s) => s.name.startsWith("chat "));
    expect(new Set(events.map((e) => e.spanId))).toEqual(new Set(chats.map((s) => s.spanId)));
    // The tool loop's two calls keep the trace and the parent the instrumentation gave them.
    for (const e of events.slice(0, 4)) {
      expect(e).toMatchObject({ traceId: app.traceId, parentSpanId: app.spanId });
    }
  });

  it("model, parameters, usage, finish reason and response id come from the span", () => {
    expect(events[0]!.payload).toMatchObject({
      model: "gpt-4o-mini",
      provider: "openai",
      params: { temperature: 0.2, maxTokens: 200 },
    });
    expect(events[1]!.payload).toMatchObject({
      model: "gpt-4o-mini-2025-01-01",
      finishReason: "tool_calls",
      usage: { inputTokens: 20, outputTokens: 12, totalTokens: 32 },
    });
    expect(events[1]!.metadata).toMatchObject({
      responseId: "chatcmpl-1",
      scope: "@opentelemetry/instrumentation-openai",
    });
    // The streamed call: usage from the stream's last chunk.
    expect(events[5]!.payload).toMatchObject({
      finishReason: "stop",
      usage: { inputTokens: 9, outputTokens: 4, totalTokens: 13 },
    });
  });

  it("a failed call is llm.error with the SDK's error class and message", () => {
    expect(events[7]!.payload).toMatchObject({
      model: "no-such-model",
      error: { message: "404 The model `no-such-model` does not exist", type: "NotFoundError" },
    });
  });
});

describe("OpenTelemetry GenAI semantic conventions", () => {
  const events = mapAll("gen-ai-semconv");

  it("invoke_agent, chat and execute_tool map; embeddings are ignored", () => {
    expect(events.map((e) => e.type)).toEqual([
      "agent.start",
      "agent.end",
      "llm.start",
      "llm.end",
      "tool.start",
      "tool.error",
    ]);
    expect(events[0]).toMatchObject({
      agent: "researcher",
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7",
    });
    expect(events[1]!.payload.latencyMs).toBe(3500);
    expect(events[2]!.payload).toMatchObject({
      model: "gpt-4.1",
      provider: "openai",
      params: { temperature: 0.2, maxTokens: 512 },
      tools: ["get_weather"],
      messages: [{ role: "system" }, { role: "user" }],
    });
    expect(events[3]!.payload).toMatchObject({
      model: "gpt-4.1-2025-04-14",
      finishReason: "tool_calls",
      usage: { inputTokens: 97, outputTokens: 52, totalTokens: 149, cacheReadTokens: 64 },
      toolCalls: [{ name: "get_weather", callId: "call_VSPygqK" }],
    });
    expect(events[3]!.metadata).toMatchObject({ responseId: "chatcmpl-1" });
    expect(events[0]!.metadata).toMatchObject({ conversationId: "conv_5" });
    expect(events[5]!.payload).toMatchObject({
      name: "get_weather",
      callId: "call_VSPygqK",
      error: { message: "city not found", type: "NotFound" },
    });
  });

  it("strings are cut, and spans with malformed ids produce nothing", () => {
    const [chat] = loadFixture("gen-ai-semconv").slice(1, 2);
    const long = {
      ...chat!,
      attributes: { ...chat!.attributes, "gen_ai.input.messages": "x".repeat(10_000) },
    };
    const [start] = mapSpan(long, { maxStringLength: 100 });
    expect(JSON.stringify(start!.payload).length).toBeLessThan(400);
    expect(mapSpan({ ...chat!, traceId: "nope" })).toEqual([]);
    // The last valid ids are remembered: a malformed id right after them is still refused.
    expect(mapSpan(chat!)).toHaveLength(2);
    expect(mapSpan({ ...chat!, spanId: `${chat!.spanId.slice(1)}g` })).toEqual([]);
    expect(mapSpan({ ...chat!, traceId: "0".repeat(32) })).toEqual([]);
    expect(mapSpan({ ...chat!, traceId: chat!.traceId.toUpperCase() })).toEqual([]);
    expect(mapSpan(chat!)).toHaveLength(2);
    expect(
      mapSpan({ ...chat!, attributes: { "gen_ai.operation.name": 42 as unknown as string } }),
    ).toEqual([]);
  });
});
