import type { Hub } from "@chorus/hub";
import { Agent, OpenAIProvider, run, tool } from "@openai/agents";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { instrument } from "../src/index.js";
import {
  cleanup,
  client,
  freshChannel,
  named,
  ofType,
  readEvents,
  startHub,
  track,
} from "./helpers.js";
import { chatScript, responsesScript, startFakeOpenAI } from "./openai-server.js";

/*
 * The SDK's real OpenAI models (against a local server) trace themselves with response and
 * generation spans. Without any hooks, the model call is read from those spans: model, usage
 * with cache and reasoning tokens, finish reason, tool call ids, which the tools then carry.
 */

let hub: Hub;
beforeAll(async () => {
  hub = await startHub();
});
afterEach(cleanup);
afterAll(async () => {
  await hub.close();
});

async function runWith(
  useResponses: boolean,
  script: Record<string, unknown>[],
  city: string,
  options: { hooks?: boolean } = {},
) {
  const openai = await startFakeOpenAI(script);
  try {
    const channel = freshChannel();
    const chorus = client(hub.url, { channel });
    const handle = track(instrument({ chorus, exclusive: true }));
    const provider = new OpenAIProvider({
      apiKey: "sk-test",
      baseURL: openai.baseURL,
      useResponses,
    });
    const getWeather = tool({
      name: "get_weather",
      description: "Weather in a city",
      parameters: z.object({ city: z.string() }),
      execute: async (args) => `snapshot for ${args.city}`,
    });
    const agent = new Agent({
      name: "Forecaster",
      instructions: "Use the tool.",
      model: await provider.getModel(useResponses ? "gpt-test-2025" : "gpt-chat-test"),
      tools: [getWeather],
    });
    if (options.hooks) handle.observe(agent);
    const outcome = await run(agent, `Weather in ${city}?`).then(
      (result) => ({ result, error: undefined }),
      (error: unknown) => ({ result: undefined, error }),
    );
    return { ...outcome, events: await readEvents(chorus, channel) };
  } finally {
    await openai.close();
  }
}

describe("a model that traces itself", () => {
  it("Responses API: llm events from response spans, call ids from the model's output", async () => {
    const { result, events } = await runWith(true, responsesScript(), "Oslo");
    expect(result?.finalOutput).toBe("Snow in Oslo.");
    expect(events.map((e) => e.type)).toEqual([
      "agent.start",
      "agent.start",
      "llm.start",
      "llm.end",
      "tool.start",
      "tool.end",
      "llm.start",
      "llm.end",
      "agent.message",
      "agent.end",
      "agent.end",
    ]);
    const [first, second] = ofType(events, "llm.end");
    expect(first?.payload).toMatchObject({
      model: "gpt-test-2025",
      usage: {
        inputTokens: 50,
        outputTokens: 12,
        totalTokens: 62,
        cacheReadTokens: 20,
        reasoningTokens: 8,
      },
      finishReason: "tool_calls",
      toolCalls: [{ name: "get_weather", callId: "call_r1" }],
      responseId: "resp_1",
    });
    expect(second?.payload).toMatchObject({ finishReason: "stop", output: "Snow in Oslo." });
    // The SDK's own OpenAI model: the provider is OpenAI (the framework is in metadata).
    for (const e of [...ofType(events, "llm.start"), ...ofType(events, "llm.end")]) {
      expect(e.payload.provider).toBe("openai");
      expect(e.metadata?.framework).toBe("openai-agents");
    }
    // The tool claims the call id the model gave it, with no hooks attached.
    const toolStart = named(events, "tool.start", "get_weather");
    expect(toolStart.payload).toEqual({
      name: "get_weather",
      callId: "call_r1",
      arguments: { city: "Oslo" },
    });
    expect(named(events, "tool.end", "get_weather").payload).toMatchObject({
      callId: "call_r1",
      result: "snapshot for Oslo",
    });
    // Model calls hang off the agent; the tool off the agent too (the turn itself stays silent).
    const agent = named(events, "agent.start", "Forecaster");
    expect(ofType(events, "llm.start").every((e) => e.parentSpanId === agent.spanId)).toBe(true);
    expect(toolStart.parentSpanId).toBe(agent.spanId);
    expect(ofType(events, "agent.message")[0]?.payload).toEqual({
      role: "assistant",
      text: "Snow in Oslo.",
    });
  });

  it("Responses API with the agent's hooks: llm.start names the agent's model before the answer", async () => {
    const { events } = await runWith(true, responsesScript(), "Oslo", { hooks: true });
    const starts = ofType(events, "llm.start");
    expect(starts).toHaveLength(2);
    for (const start of starts) expect(start.payload.model).toBe("gpt-test-2025");
  });

  it("Responses API answering 500: llm.error carries the HTTP status and the client's error class", async () => {
    const { error: failed, events } = await runWith(true, [], "Oslo");
    expect(failed).toMatchObject({ status: 500 });
    const [error] = ofType(events, "llm.error");
    // The SDK keeps only the error's message on its span, so the body's `type` never reaches a
    // trace processor; the class the OpenAI client raised for the status does.
    expect(error?.payload).toMatchObject({
      provider: "openai",
      error: { status: 500, type: "InternalServerError" },
    });
    expect(error?.payload).toMatchObject({
      error: { message: expect.stringContaining("script exhausted") },
    });
  });

  it("Chat Completions answering 500: llm.error carries the HTTP status and the client's error class", async () => {
    const { error: failed, events } = await runWith(false, [], "Rome");
    expect(failed).toMatchObject({ status: 500 });
    expect(ofType(events, "llm.error")[0]?.payload).toMatchObject({
      model: "gpt-chat-test",
      error: { status: 500, type: "InternalServerError" },
    });
  });

  it("Chat Completions: llm events from generation spans", async () => {
    const { result, events } = await runWith(false, chatScript(), "Rome");
    expect(result?.finalOutput).toBe("Sun in Rome.");
    const [first, second] = ofType(events, "llm.end");
    expect(first?.payload).toMatchObject({
      model: "gpt-chat-test",
      usage: {
        inputTokens: 40,
        outputTokens: 9,
        totalTokens: 49,
        cacheReadTokens: 16,
        reasoningTokens: 4,
      },
      finishReason: "tool_calls",
      toolCalls: [{ name: "get_weather", callId: "call_c1" }],
    });
    expect(second?.payload).toMatchObject({ finishReason: "stop", output: "Sun in Rome." });
    expect(ofType(events, "llm.start")[0]?.payload).toMatchObject({ model: "gpt-chat-test" });
    expect(named(events, "tool.start", "get_weather").payload).toMatchObject({
      callId: "call_c1",
      arguments: { city: "Rome" },
    });
    expect(ofType(events, "agent.message")[0]?.payload.text).toBe("Sun in Rome.");
  });
});
