import { withTrace } from "@chorus/core";
import { AIMessage } from "@langchain/core/messages";
import { fakeModel } from "@langchain/core/testing";
import { createAgent } from "langchain";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChorusCallbackHandler } from "../src/index.js";
import {
  freshChannel,
  getWeather,
  meta,
  one,
  ofType,
  payload,
  readBack,
  startHub,
  type TestHub,
  types,
} from "./helpers.js";

let t: TestHub;
beforeAll(async () => {
  t = await startHub();
});
afterAll(async () => {
  await t.close();
});

/** The agent of the README: one tool call, then a final answer with usage. */
function weatherAgent() {
  const model = fakeModel()
    .respondWithTools([{ name: "get_weather", args: { city: "Paris" }, id: "call_weather_1" }])
    .respond(
      new AIMessage({
        content: "It is sunny and 24°C in Paris.",
        usage_metadata: {
          input_tokens: 120,
          output_tokens: 12,
          total_tokens: 132,
          input_token_details: { cache_read: 100, cache_creation: 8 },
        },
        response_metadata: { model_name: "fake-1", finish_reason: "stop" },
      }),
    );
  return createAgent({ model, tools: [getWeather], name: "weatherbot" });
}

const question = { messages: [{ role: "user", content: "What's the weather in Paris?" }] };

describe("createAgent (langchain v1) with a tool", () => {
  it("emits the run as one trace: agent, model turns, tool call, final message", async () => {
    const channel = freshChannel();
    const handler = new ChorusCallbackHandler({ chorus: t.chorus, channel });
    const result = await weatherAgent().invoke(question, {
      callbacks: [handler],
      configurable: { thread_id: "thread-42" },
    });
    expect(result.messages.at(-1)?.content).toBe("It is sunny and 24°C in Paris.");

    const events = await readBack(t.chorus, channel);
    expect(types(events)).toEqual([
      "agent.start",
      "llm.start",
      "llm.end",
      "tool.start",
      "tool.end",
      "llm.start",
      "llm.end",
      "agent.message",
      "agent.end",
    ]);

    // One trace; start and end of each run share a span; children point at the agent.
    const traceIds = new Set(events.map((e) => e.traceId));
    expect(traceIds.size).toBe(1);
    expect([...traceIds][0]).toMatch(/^[0-9a-f]{32}$/);
    const start = one(events, "agent.start");
    const end = one(events, "agent.end");
    expect(start.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(end.spanId).toBe(start.spanId);
    expect(start.parentSpanId).toBeUndefined();
    const [llmStart1, llmStart2] = ofType(events, "llm.start");
    const [llmEnd1, llmEnd2] = ofType(events, "llm.end");
    expect(llmEnd1!.spanId).toBe(llmStart1!.spanId);
    expect(llmEnd2!.spanId).toBe(llmStart2!.spanId);
    expect(llmStart1!.spanId).not.toBe(llmStart2!.spanId);
    for (const e of [...ofType(events, "llm.start"), ...ofType(events, "tool.start")]) {
      expect(e.parentSpanId).toBe(start.spanId);
    }
    const toolStart = one(events, "tool.start");
    const toolEnd = one(events, "tool.end");
    expect(toolEnd.spanId).toBe(toolStart.spanId);

    // Names, call ids, arguments and results.
    expect(payload(start)).toMatchObject({ name: "weatherbot" });
    expect(payload(start).input.messages[0]).toMatchObject({
      role: "user",
      content: "What's the weather in Paris?",
    });
    expect(start.agent).toBe("weatherbot");
    expect(payload(toolStart)).toEqual({
      name: "get_weather",
      callId: "call_weather_1",
      arguments: { city: "Paris" },
    });
    expect(payload(toolEnd)).toMatchObject({
      name: "get_weather",
      callId: "call_weather_1",
      result: "Sunny and 24°C in Paris",
    });
    expect(payload(toolEnd).latencyMs).toBeGreaterThanOrEqual(0);
    expect(payload(llmEnd1!).toolCalls).toEqual([
      { name: "get_weather", callId: "call_weather_1", arguments: { city: "Paris" } },
    ]);
    expect(payload(llmEnd1!).finishReason).toBe("tool_calls");

    // Usage of the final turn, with cache tokens.
    expect(payload(llmEnd2!)).toMatchObject({
      model: "fake-1",
      finishReason: "stop",
      output: "It is sunny and 24°C in Paris.",
      usage: {
        inputTokens: 120,
        outputTokens: 12,
        totalTokens: 132,
        cacheReadTokens: 100,
        cacheWriteTokens: 8,
      },
    });
    expect(payload(llmEnd2!).latencyMs).toBeGreaterThanOrEqual(0);
    expect(payload(llmEnd2!).timeToFirstTokenMs).toBeUndefined(); // not streamed
    expect(payload(llmStart2!).messages.map((m: { role: string }) => m.role)).toEqual([
      "user",
      "assistant",
      "tool",
    ]);

    expect(payload(one(events, "agent.message"))).toEqual({
      role: "assistant",
      text: "It is sunny and 24°C in Paris.",
    });
    expect(one(events, "agent.message").spanId).toBe(start.spanId);
    expect(payload(end)).toMatchObject({
      name: "weatherbot",
      output: { role: "assistant", content: "It is sunny and 24°C in Paris." },
    });

    // LangGraph node names and the thread id in metadata, with the framework and run ids.
    expect(meta(start)).toMatchObject({ framework: "langchain", threadId: "thread-42" });
    expect(meta(llmStart1!)).toMatchObject({
      framework: "langchain",
      langgraphNode: "model_request",
      threadId: "thread-42",
    });
    expect(meta(toolStart)).toMatchObject({ langgraphNode: "tools", threadId: "thread-42" });
    expect(meta(llmStart1!).runId).toEqual(expect.any(String));
    expect(meta(llmStart1!).parentRunId).toEqual(expect.any(String));
  });

  it("starts a new trace per top-level run, not per handler", async () => {
    const channel = freshChannel();
    const handler = new ChorusCallbackHandler({ chorus: t.chorus, channel });
    await weatherAgent().invoke(question, { callbacks: [handler] });
    await weatherAgent().invoke(question, { callbacks: [handler] });
    const events = await readBack(t.chorus, channel);
    const starts = ofType(events, "agent.start");
    expect(starts).toHaveLength(2);
    expect(starts[0]!.traceId).not.toBe(starts[1]!.traceId);
    expect(new Set(events.map((e) => e.traceId)).size).toBe(2);
  });

  it("never doubles events when the same handler is registered twice", async () => {
    const channel = freshChannel();
    const handler = new ChorusCallbackHandler({ chorus: t.chorus, channel });
    // Twice in one list, and once more as a copy (what LangChain's handler.copy() produces).
    await weatherAgent().invoke(question, { callbacks: [handler, handler, handler.copy()] });
    const events = await readBack(t.chorus, channel);
    expect(types(events)).toEqual([
      "agent.start",
      "llm.start",
      "llm.end",
      "tool.start",
      "tool.end",
      "llm.start",
      "llm.end",
      "agent.message",
      "agent.end",
    ]);
  });

  it("joins the surrounding trace (intent handler, withTrace) and carries its intent and agent", async () => {
    const channel = freshChannel();
    const handler = new ChorusCallbackHandler({ chorus: t.chorus, channel });
    const intentId = "intent_123";
    const outer = await withTrace(
      async () => {
        await weatherAgent().invoke(question, { callbacks: [handler] });
        return t.chorus.currentTrace();
      },
      { intentId, agent: "researcher" },
    );
    const events = await readBack(t.chorus, channel);
    expect(events.length).toBe(9);
    for (const e of events) {
      expect(e.traceId).toBe(outer!.traceId);
      expect(e.intentId).toBe(intentId);
      expect(e.agent).toBe("researcher");
    }
    expect(one(events, "agent.start").parentSpanId).toBe(outer!.spanId);
  });

  it("reports a model failure as llm.error and agent.error, and LangChain's error is untouched", async () => {
    const channel = freshChannel();
    const handler = new ChorusCallbackHandler({ chorus: t.chorus, channel });
    const failure = Object.assign(new Error("rate limited"), {
      status: 429,
      name: "RateLimitError",
    });
    const agent = createAgent({ model: fakeModel().alwaysThrow(failure), tools: [getWeather] });
    await expect(agent.invoke(question, { callbacks: [handler] })).rejects.toBe(failure);
    const events = await readBack(t.chorus, channel);
    expect(types(events)).toEqual(["agent.start", "llm.start", "llm.error", "agent.error"]);
    expect(payload(one(events, "llm.error")).error).toEqual({
      message: "rate limited",
      type: "RateLimitError",
      status: 429,
    });
    expect(payload(one(events, "agent.error"))).toMatchObject({
      name: "LangGraph",
      error: { message: "rate limited" },
    });
    expect(one(events, "agent.error").spanId).toBe(one(events, "agent.start").spanId);
  });

  it("reports a failing tool as tool.error matched by call id, and the agent carries on", async () => {
    const channel = freshChannel();
    const handler = new ChorusCallbackHandler({ chorus: t.chorus, channel });
    const { tool } = await import("langchain");
    const { z } = await import("zod");
    const broken = tool(
      async () => {
        throw new Error("weather service down");
      },
      { name: "get_weather", description: "weather", schema: z.object({ city: z.string() }) },
    );
    const model = fakeModel()
      .respondWithTools([{ name: "get_weather", args: { city: "Oslo" }, id: "call_x" }])
      .respond(new AIMessage("Sorry, I could not get the weather."));
    const agent = createAgent({ model, tools: [broken] });
    const result = await agent.invoke(question, { callbacks: [handler] });
    expect(result.messages.at(-1)?.content).toBe("Sorry, I could not get the weather.");
    const events = await readBack(t.chorus, channel);
    const toolError = one(events, "tool.error");
    expect(payload(toolError)).toMatchObject({
      name: "get_weather",
      callId: "call_x",
      error: { message: "weather service down" },
    });
    expect(toolError.spanId).toBe(one(events, "tool.start").spanId);
    expect(types(events).at(-1)).toBe("agent.end");
  });

  it("with capture: 'metadata', leaves prompts, answers, arguments and results out", async () => {
    const channel = freshChannel();
    const handler = new ChorusCallbackHandler({
      chorus: t.chorus,
      channel,
      capture: "metadata",
      agent: "ops",
    });
    await weatherAgent().invoke(question, { callbacks: [handler] });
    const events = await readBack(t.chorus, channel);
    expect(types(events)).not.toContain("agent.message");
    const text = JSON.stringify(events.map((e) => e.payload));
    expect(text).not.toContain("Paris");
    expect(text).not.toContain("sunny");
    expect(payload(one(events, "tool.start"))).toEqual({
      name: "get_weather",
      callId: "call_weather_1",
    });
    expect(payload(ofType(events, "llm.end")[1]!).usage).toMatchObject({
      inputTokens: 120,
      outputTokens: 12,
    });
    expect(events.every((e) => e.agent === "ops")).toBe(true);
  });
});
