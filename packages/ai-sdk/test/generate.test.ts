import { EventTypes } from "@chorus/core";
import {
  APICallError,
  generateObject,
  generateText,
  jsonSchema,
  stepCountIs,
  wrapLanguageModel,
} from "ai";
import { MockLanguageModelV3 } from "ai/test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chorusMiddleware } from "../src/index.js";
import {
  failingModel,
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
  hub = await startTestHub();
});
afterAll(async () => {
  await hub.close();
});

const wrap = (model: ReturnType<typeof scriptedModel>, options = {}) =>
  wrapLanguageModel({ model, middleware: chorusMiddleware({ chorus: hub.chorus, ...options }) });

describe("generateText", () => {
  it("reports one call: llm.start, llm.end with usage, model and finish reason, and the answer", async () => {
    const result = await generateText({
      model: wrap(scriptedModel([{ text: "Hello there" }])),
      prompt: "Say hello",
      temperature: 0.2,
    });
    expect(result.text).toBe("Hello there");
    const start = (await hub.events()).find((e) => e.type === EventTypes.LlmStart);
    const events = await hub.events({ traceId: start?.traceId });
    expect(types(events)).toEqual(["llm.start", "llm.end", "agent.message"]);
    const llmStart = only(events, "llm.start");
    expect(llmStart.payload).toMatchObject({
      model: "gpt-test",
      provider: "openai",
      params: { temperature: 0.2 },
      messages: [{ role: "user", content: [{ type: "text", text: "Say hello" }] }],
    });
    expect(llmStart.metadata).toMatchObject({
      framework: "ai-sdk",
      method: "generate",
      modelProvider: "openai.chat",
    });
    const end = only(events, "llm.end");
    expect(end.spanId).toBe(llmStart.spanId);
    expect(end.parentSpanId).toBeUndefined();
    expect(end.payload).toMatchObject({
      model: "gpt-test-2026",
      provider: "openai",
      finishReason: "stop",
      usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15, cacheReadTokens: 2 },
    });
    expect(typeof end.payload.latencyMs).toBe("number");
    expect(end.payload.timeToFirstTokenMs).toBeUndefined();
    expect(end.metadata).toMatchObject({ responseId: "resp-1" });
    expect(only(events, "agent.message").payload).toEqual({
      role: "assistant",
      text: "Hello there",
    });
  });

  it("a tool loop is one trace: each step's call, the tool between them, its result on the next step", async () => {
    const result = await generateText({
      model: wrap(
        scriptedModel([
          { weatherIn: "Oslo", callId: "call-1" },
          { text: "It is 21 degrees in Oslo" },
        ]),
      ),
      tools: { weather: weatherTool() },
      stopWhen: stepCountIs(3),
      prompt: "Weather in Oslo?",
    });
    expect(result.text).toBe("It is 21 degrees in Oslo");
    expect(result.steps).toHaveLength(2);
    const first = (await hub.events()).filter((e) => e.type === "tool.start").at(-1);
    const events = await hub.events({ traceId: first?.traceId });
    expect(types(events)).toEqual(TOOL_LOOP);
    const [step1, step2] = events.filter((e) => e.type === "llm.start");
    expect(step1?.payload.tools).toEqual(["weather"]);
    const toolStart = only(events, "tool.start");
    expect(toolStart.parentSpanId).toBe(step1?.spanId);
    expect(toolStart.payload).toEqual({
      name: "weather",
      callId: "call-1",
      arguments: { city: "Oslo" },
    });
    const toolEnd = only(events, "tool.end");
    expect(toolEnd.spanId).toBe(toolStart.spanId);
    expect(toolEnd.payload).toMatchObject({
      name: "weather",
      callId: "call-1",
      result: { city: "Oslo", celsius: 21 },
    });
    // The second step is the first one's sibling: same trace, same (absent) parent.
    expect(step2?.parentSpanId).toBeUndefined();
    expect(step2?.spanId).not.toBe(step1?.spanId);
    expect(events.filter((e) => e.type === "llm.end").map((e) => e.payload.finishReason)).toEqual([
      "tool_calls",
      "stop",
    ]);
  });

  it("concurrent loops whose provider numbers tool calls alike (call_0) keep their own traces", async () => {
    // One middleware for every model, as an app wraps them; ids as Ollama and many
    // OpenAI-compatible servers give them: numbered per answer, so they repeat across runs.
    const middleware = chorusMiddleware({ chorus: hub.chorus });
    const run = (city: string, conversation = `Weather in ${city}?`) =>
      generateText({
        model: wrapLanguageModel({
          model: scriptedModel([
            { weatherIn: city, callId: "call_0" },
            { text: `It is 21 degrees in ${city}` },
          ]),
          middleware,
        }),
        tools: { weather: weatherTool() },
        stopWhen: stepCountIs(3),
        prompt: conversation,
      });
    const cities = ["Quito", "Lima", "Nairobi"];
    const results = await Promise.all(cities.map((city) => run(city)));
    expect(results.map((r) => r.text)).toEqual(cities.map((c) => `It is 21 degrees in ${c}`));
    const all = await hub.events();
    for (const city of cities) {
      const start = all.find(
        (e) => e.type === "tool.start" && (e.payload.arguments as { city?: string })?.city === city,
      );
      const events = await hub.events({ traceId: start?.traceId });
      // The whole loop in one trace, and nothing of another run in it.
      expect(types(events), city).toEqual(TOOL_LOOP);
      expect(only(events, "tool.end").payload).toMatchObject({ result: { city } });
      expect(only(events, "tool.end").spanId).toBe(start?.spanId);
      expect(only(events, "agent.message").payload.text).toBe(`It is 21 degrees in ${city}`);
    }
  });

  it("a step the SDK retries stays in its loop's trace: every attempt is a sibling of the first step", async () => {
    const script = scriptedModel([
      { weatherIn: "Bergen", callId: "call-retry" },
      { text: "Rain in Bergen" },
    ]);
    let calls = 0;
    // The second model call (the loop's second step) is overloaded once; the SDK retries it.
    const flaky = new MockLanguageModelV3({
      provider: "openai.chat",
      modelId: "gpt-test",
      doGenerate: async (options) => {
        calls++;
        if (calls === 2) {
          throw new APICallError({
            message: "Overloaded",
            url: "https://api.example.test/v1/chat/completions",
            requestBodyValues: {},
            statusCode: 529,
            isRetryable: true,
          });
        }
        return script.doGenerate(options);
      },
    });
    const result = await generateText({
      model: wrap(flaky as ReturnType<typeof scriptedModel>),
      tools: { weather: weatherTool() },
      stopWhen: stepCountIs(3),
      prompt: "Weather in Bergen?",
    });
    expect(result.text).toBe("Rain in Bergen");
    const started = (await hub.events()).filter((e) => e.type === "tool.start").at(-1);
    expect(started?.payload.callId).toBe("call-retry");
    const events = await hub.events({ traceId: started?.traceId });
    expect(types(events)).toEqual([
      "llm.start",
      "llm.end",
      "tool.start",
      "tool.end",
      "llm.start",
      "llm.error",
      "llm.start",
      "llm.end",
      "agent.message",
    ]);
    const spans = new Set(events.filter((e) => e.type === "llm.start").map((e) => e.spanId));
    expect(spans.size).toBe(3);
    for (const call of events.filter((e) => e.type.startsWith("llm."))) {
      expect(call.parentSpanId).toBeUndefined();
    }
  });

  it("a tool that throws is a tool.error with its message", async () => {
    await generateText({
      model: wrap(
        scriptedModel([{ weatherIn: "Atlantis", callId: "call-x" }, { text: "No data" }]),
      ),
      tools: { weather: weatherTool("Atlantis") },
      stopWhen: stepCountIs(3),
      prompt: "Weather in Atlantis?",
    });
    const started = (await hub.events()).filter((e) => e.type === "tool.start").at(-1);
    const events = await hub.events({ traceId: started?.traceId });
    const error = only(events, "tool.error");
    expect(error.spanId).toBe(started?.spanId);
    expect(error.payload).toMatchObject({
      name: "weather",
      callId: "call-x",
      error: { message: expect.stringContaining("no station in Atlantis") },
    });
  });

  it("inside withTrace every call is a child of the caller's span and carries its agent", async () => {
    const trace = await hub.chorus.withTrace(
      async () => {
        await generateText({
          model: wrap(scriptedModel([{ weatherIn: "Rome", callId: "call-r" }, { text: "Sunny" }])),
          tools: { weather: weatherTool() },
          stopWhen: stepCountIs(3),
          prompt: "Rome?",
        });
        return hub.chorus.currentTrace();
      },
      { agent: "planner" },
    );
    const events = await hub.events({ traceId: trace?.traceId });
    const calls = events.filter((e) => e.type === "llm.start");
    expect(calls).toHaveLength(2);
    for (const call of calls) expect(call.parentSpanId).toBe(trace?.spanId);
    for (const event of events) expect(event.agent).toBe("planner");
  });

  it("an HTTP 500 is llm.error with the status and the provider's error type; the SDK's error is unchanged", async () => {
    const error = await generateText({
      model: wrap(failingModel() as ReturnType<typeof scriptedModel>),
      prompt: "Hi",
      maxRetries: 0,
    }).catch((e: unknown) => e);
    expect((error as { statusCode?: number }).statusCode).toBe(500);
    const failed = (await hub.events()).filter((e) => e.type === "llm.error").at(-1);
    expect(failed?.payload).toMatchObject({
      model: "gpt-test",
      provider: "openai",
      error: { message: "Internal Server Error", type: "server_error", status: 500 },
    });
    expect(failed?.metadata).toMatchObject({ errorClass: "AI_APICallError", retryable: true });
  });

  it("a model that throws an object whose getters throw still ends its call as llm.error", async () => {
    const hostile = {
      get message(): string {
        throw new Error("getter");
      },
      toString(): string {
        throw new Error("toString");
      },
    };
    const sink = recordingSink();
    const model = new MockLanguageModelV3({
      doGenerate: async () => {
        throw hostile;
      },
    });
    const thrown = await generateText({
      model: wrapLanguageModel({ model, middleware: chorusMiddleware({ chorus: sink }) }),
      prompt: "Hi",
      maxRetries: 0,
    }).catch((e: unknown) => e);
    expect(thrown).toBe(hostile); // the SDK's own error, unchanged
    expect(types(sink.events)).toEqual(["llm.start", "llm.error"]);
    expect(sink.events.at(-1)?.payload).toMatchObject({
      error: { message: "an error whose fields could not be read" },
    });
  });

  it("with capture 'metadata' no prompt, answer or tool arguments leave the process", async () => {
    const sink = recordingSink();
    await generateText({
      model: wrapLanguageModel({
        model: scriptedModel([{ weatherIn: "Lima", callId: "c-1" }, { text: "secret answer" }]),
        middleware: chorusMiddleware({ chorus: sink, capture: "metadata" }),
      }),
      tools: { weather: weatherTool() },
      stopWhen: stepCountIs(3),
      prompt: "secret question",
    });
    expect(types(sink.events)).not.toContain("agent.message");
    const text = JSON.stringify(sink.events);
    expect(text).not.toContain("secret");
    expect(text).not.toContain("Lima");
    expect(only(sink.events, "tool.start").payload).toEqual({ name: "weather", callId: "c-1" });
  });
});

describe("generateObject", () => {
  it("reports a JSON-mode call with the object as the answer", async () => {
    const result = await generateObject({
      model: wrap(scriptedModel([{ text: '{"name":"Ada","age":36}' }])),
      schema: jsonSchema<{ name: string; age: number }>({
        type: "object",
        properties: { name: { type: "string" }, age: { type: "number" } },
        required: ["name", "age"],
      }),
      prompt: "A person",
    });
    expect(result.object).toEqual({ name: "Ada", age: 36 });
    const start = (await hub.events()).filter((e) => e.type === "llm.start").at(-1);
    expect(start?.payload.params).toMatchObject({ responseFormat: "json" });
    const events = await hub.events({ traceId: start?.traceId });
    expect(only(events, "llm.end").payload.output).toEqual([
      { type: "text", text: '{"name":"Ada","age":36}' },
    ]);
  });
});
