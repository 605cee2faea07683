import type { ChorusEvent } from "@chorus/core";
import type { Hub } from "@chorus/hub";
import {
  Agent,
  type Model,
  type ModelRequest,
  type ModelResponse,
  OpenAIProvider,
  run,
  tool,
  Usage,
  withGenerationSpan,
} from "@openai/agents";
import { assistantMessage, ScriptedModel } from "@openai/agents-core/testing";
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

/**
 * A model as `aisdk()` of `@openai/agents-extensions` serves one: a generation span whose model
 * is `<AI SDK provider>:<model id>` and whose config names the AI SDK provider
 * (`{ provider, model_impl: "ai-sdk" }`), as the bridge writes them.
 */
class BridgedModel implements Model {
  async getResponse(_request: ModelRequest): Promise<ModelResponse> {
    return withGenerationSpan(async (span) => {
      span.spanData.model = "anthropic.messages:claude-test-4";
      span.spanData.model_config = { provider: "anthropic.messages", model_impl: "ai-sdk" };
      await new Promise<void>((resolve) => setImmediate(resolve));
      span.spanData.output = [{ role: "assistant", content: "Fog in Lima." }];
      span.spanData.usage = { input_tokens: 11, output_tokens: 4 };
      return {
        output: [assistantMessage("Fog in Lima.")],
        usage: new Usage({ requests: 1, inputTokens: 11, outputTokens: 4, totalTokens: 15 }),
      };
    });
  }

  // biome-ignore lint/correctness/useYield: the test never streams
  async *getStreamedResponse(): AsyncIterable<never> {
    throw new Error("not used");
  }
}

describe("who serves the model", () => {
  async function eventsOf(model: Model): Promise<ChorusEvent[]> {
    const channel = freshChannel();
    const chorus = client(hub.url, { channel });
    track(instrument({ chorus, exclusive: true }));
    await run(new Agent({ name: "Forecaster", model }), "Weather in Lima?");
    return readEvents(chorus, channel);
  }

  it("a model behind the SDK's AI SDK bridge: its provider and model id, not OpenAI", async () => {
    const events = await eventsOf(new BridgedModel());
    const calls = [...ofType(events, "llm.start"), ...ofType(events, "llm.end")];
    expect(calls).toHaveLength(2);
    for (const e of calls)
      expect(e.payload).toMatchObject({ provider: "anthropic", model: "claude-test-4" });
    expect(ofType(events, "llm.end")[0]?.payload).toMatchObject({
      usage: { inputTokens: 11, outputTokens: 4 },
      output: "Fog in Lima.",
    });
  });

  it("a model that does not trace itself: no provider is claimed, at the start or the end", async () => {
    const events = await eventsOf(
      new ScriptedModel([
        {
          output: [assistantMessage("Fog in Lima.")],
          usage: new Usage({ requests: 1, inputTokens: 5, outputTokens: 2, totalTokens: 7 }),
        },
      ]),
    );
    const calls = [...ofType(events, "llm.start"), ...ofType(events, "llm.end")];
    expect(calls).toHaveLength(2);
    for (const e of calls) expect(e.payload.provider).toBeUndefined();
  });
});
