import { stepCountIs, streamText, wrapLanguageModel } from "ai";
import { convertArrayToReadableStream, MockLanguageModelV3 } from "ai/test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chorusMiddleware } from "../src/index.js";
import {
  only,
  recordingSink,
  scriptedModel,
  startTestHub,
  type TestHub,
  TOOL_LOOP,
  types,
  weatherTool,
} from "./helpers.js";

let hub: TestHub;
beforeAll(async () => {
  hub = await startTestHub("ai-sdk-stream");
});
afterAll(async () => {
  await hub.close();
});

describe("streamText", () => {
  it("a streamed tool loop: the same text for the reader, one trace, time to first token, opt-in tokens", async () => {
    const model = wrapLanguageModel({
      model: scriptedModel([
        { weatherIn: "Oslo", callId: "call-s1" },
        { text: "It is 21 degrees in Oslo" },
      ]),
      middleware: chorusMiddleware({ chorus: hub.chorus, emitTokens: true }),
    });
    const result = streamText({
      model,
      tools: { weather: weatherTool() },
      stopWhen: stepCountIs(3),
      prompt: "Weather in Oslo?",
    });
    const chunks: string[] = [];
    for await (const chunk of result.textStream) chunks.push(chunk);
    expect(chunks.join("")).toBe("It is 21 degrees in Oslo");
    expect(await result.text).toBe("It is 21 degrees in Oslo");

    const toolStart = (await hub.events()).filter((e) => e.type === "tool.start").at(-1);
    const events = await hub.events({ traceId: toolStart?.traceId });
    const withoutTokens = types(events).filter((t) => t !== "llm.token");
    expect(withoutTokens).toEqual(TOOL_LOOP);
    const tokens = events.filter((e) => e.type === "llm.token");
    expect(tokens.map((e) => e.payload.token).join("")).toBe("It is 21 degrees in Oslo");
    expect(tokens.map((e) => e.payload.index)).toEqual(tokens.map((_, i) => i));
    const ends = events.filter((e) => e.type === "llm.end");
    for (const end of ends) {
      expect(end.metadata.method).toBe("stream");
      expect(typeof end.payload.timeToFirstTokenMs).toBe("number");
      expect(end.payload.usage).toMatchObject({ inputTokens: 10, outputTokens: 5 });
    }
    expect(ends[1]?.payload).toMatchObject({ model: "gpt-test-2026", finishReason: "stop" });
    expect(only(events, "tool.end").payload).toMatchObject({
      callId: "call-s1",
      result: { celsius: 21 },
    });
    expect(only(events, "agent.message").payload.text).toBe("It is 21 degrees in Oslo");
  });

  it("passes the model's parts through unchanged, as the same objects", async () => {
    const parts = [
      { type: "stream-start" as const, warnings: [] },
      { type: "text-start" as const, id: "a" },
      { type: "text-delta" as const, id: "a", delta: "Hi" },
      { type: "text-end" as const, id: "a" },
      {
        type: "finish" as const,
        finishReason: { unified: "stop" as const, raw: "stop" },
        usage: {
          inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined },
          outputTokens: { total: 1, text: 1, reasoning: undefined },
        },
      },
    ];
    const inner = new MockLanguageModelV3({
      doStream: async () => ({ stream: convertArrayToReadableStream(parts) }),
    });
    const middleware = chorusMiddleware({ chorus: recordingSink() });
    const { stream } = await (middleware.wrapStream as NonNullable<typeof middleware.wrapStream>)({
      doGenerate: () => inner.doGenerate({ prompt: [] }),
      doStream: () => inner.doStream({ prompt: [] }),
      params: { prompt: [] },
      model: inner,
    });
    const seen: unknown[] = [];
    for await (const part of stream as unknown as AsyncIterable<unknown>) seen.push(part);
    expect(seen).toHaveLength(parts.length);
    for (const [i, part] of seen.entries()) expect(part).toBe(parts[i]);
  });

  it("a stream the reader abandons ends its call as an abort, with the usage so far", async () => {
    const sink = recordingSink();
    let cancelled: unknown;
    const source = new ReadableStream({
      start(controller) {
        controller.enqueue({ type: "text-start", id: "a" });
        controller.enqueue({ type: "text-delta", id: "a", delta: "partial " });
      },
      cancel(reason) {
        cancelled = reason;
      },
    });
    const inner = new MockLanguageModelV3({ doStream: async () => ({ stream: source as never }) });
    const model = wrapLanguageModel({
      model: inner,
      middleware: chorusMiddleware({ chorus: sink }),
    });
    const { stream } = await model.doStream({ prompt: [] });
    const reader = stream.getReader();
    await reader.read();
    await reader.read();
    await reader.cancel("user navigated away");
    expect(cancelled).toBe("user navigated away");
    const error = only(sink.events, "llm.error");
    expect(error.payload).toMatchObject({
      error: { type: "AbortError", message: expect.stringContaining("user navigated away") },
    });
  });

  it("a stream that fails mid-way: the reader gets the same error, the call ends in llm.error", async () => {
    const sink = recordingSink();
    const boom = new Error("socket hang up");
    let sent = false;
    const source = new ReadableStream({
      pull(controller) {
        if (!sent) {
          sent = true;
          controller.enqueue({ type: "text-start", id: "a" });
          return;
        }
        controller.error(boom);
      },
    });
    const inner = new MockLanguageModelV3({ doStream: async () => ({ stream: source as never }) });
    const model = wrapLanguageModel({
      model: inner,
      middleware: chorusMiddleware({ chorus: sink }),
    });
    const { stream } = await model.doStream({ prompt: [] });
    const reader = stream.getReader();
    await reader.read();
    await expect(reader.read()).rejects.toBe(boom);
    expect(only(sink.events, "llm.error").payload).toMatchObject({
      error: { message: "socket hang up" },
    });
  });

  it("an error part without a finish is llm.error; after a finish it is noted on llm.end", async () => {
    const sink = recordingSink();
    const model = (parts: object[]) =>
      wrapLanguageModel({
        model: new MockLanguageModelV3({
          doStream: async () => ({ stream: convertArrayToReadableStream(parts as never[]) }),
        }),
        middleware: chorusMiddleware({ chorus: sink }),
      });
    const drain = async (m: ReturnType<typeof model>) => {
      const { stream } = await m.doStream({ prompt: [] });
      for await (const _ of stream as unknown as AsyncIterable<unknown>);
    };
    await drain(
      model([{ type: "error", error: { message: "overloaded", type: "overloaded_error" } }]),
    );
    expect(only(sink.events, "llm.error").payload).toMatchObject({
      error: { message: "overloaded", type: "overloaded_error" },
    });
    await drain(
      model([
        { type: "error", error: new Error("late hiccup") },
        { type: "finish", finishReason: { unified: "error", raw: undefined }, usage: {} },
      ]),
    );
    expect(only(sink.events, "llm.end").payload?.finishReason).toBe("error");
    expect(only(sink.events, "llm.end").metadata).toMatchObject({ streamError: "late hiccup" });
  });
});
