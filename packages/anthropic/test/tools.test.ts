import Anthropic from "@anthropic-ai/sdk";
import type { MessageParam } from "@anthropic-ai/sdk/resources/messages";
import { withTrace } from "@chorus/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { wrapAnthropic } from "../src/index.js";
import { startFakeApi, type FakeApi } from "./helpers/fake-api.js";
import { only, startTestHub, type TestHub, types } from "./helpers/hub.js";
import { message, sseEvents, text, toolUse } from "./helpers/messages.js";

let api: FakeApi;
let hub: TestHub;

beforeAll(async () => {
  api = await startFakeApi();
  hub = await startTestHub("tools");
});
afterAll(async () => {
  await api.close();
  await hub.close();
});

const sdk = () => new Anthropic({ apiKey: "test", baseURL: api.url, maxRetries: 0 });
const tools = [
  {
    name: "get_weather",
    description: "Weather in a city",
    input_schema: { type: "object" as const, properties: { city: { type: "string" } } },
  },
];
const question: MessageParam = { role: "user", content: "Weather in Paris?" };

/** The conversation after the model's tool call, with the tool's answer. */
function followUp(
  assistant: MessageParam["content"],
  id: string,
  result: string,
  isError = false,
): MessageParam[] {
  return [
    question,
    { role: "assistant", content: assistant },
    {
      role: "user",
      content: [
        {
          type: "tool_result",
          tool_use_id: id,
          content: result,
          ...(isError ? { is_error: true } : {}),
        },
      ],
    },
  ];
}

describe("tool calls", () => {
  it("tool_use emits tool.start under the LLM span; the tool_result in the next request emits tool.end", async () => {
    const first = message([
      text("Let me check."),
      toolUse("toolu_01", "get_weather", { city: "Paris" }),
    ]);
    api.enqueue(
      { kind: "json", body: first },
      { kind: "json", body: message([text("It is 18°C in Paris.")]) },
    );
    const client = wrapAnthropic(sdk(), { chorus: hub.chorus, agent: "weather" });

    const turn1 = await client.messages.create({
      model: "claude-test-1",
      max_tokens: 64,
      tools,
      messages: [question],
    });
    expect(turn1.stop_reason).toBe("tool_use");
    const turn2 = await client.messages.create({
      model: "claude-test-1",
      max_tokens: 64,
      tools,
      messages: followUp(turn1.content, "toolu_01", "18°C, sunny"),
    });
    expect(turn2.content).toEqual([{ type: "text", text: "It is 18°C in Paris." }]);

    const all = await hub.events();
    const starts = all.filter((e) => e.type === "llm.start").slice(-2);
    const [traceA, traceB] = await Promise.all(
      starts.map((s) => hub.events({ traceId: s.traceId! })),
    );
    expect(types(traceA!)).toEqual([
      "llm.start",
      "llm.end",
      "agent.message",
      "tool.start",
      "tool.end",
    ]);
    expect(types(traceB!)).toEqual(["llm.start", "llm.end", "agent.message"]);

    const llmStart = only(traceA!, "llm.start");
    expect(llmStart.payload.tools).toEqual(["get_weather"]);
    const llmEnd = only(traceA!, "llm.end");
    expect(llmEnd.payload).toMatchObject({
      finishReason: "tool_calls",
      toolCalls: [{ name: "get_weather", callId: "toolu_01" }],
    });
    const toolStart = only(traceA!, "tool.start");
    const toolEnd = only(traceA!, "tool.end");
    expect(toolStart.payload).toEqual({
      name: "get_weather",
      callId: "toolu_01",
      arguments: { city: "Paris" },
    });
    expect(toolStart.parentSpanId).toBe(llmStart.spanId);
    expect(toolStart.spanId).not.toBe(llmStart.spanId);
    expect(toolEnd.spanId).toBe(toolStart.spanId);
    expect(toolEnd.parentSpanId).toBe(llmStart.spanId);
    expect(toolEnd.agent).toBe("weather");
    expect(toolEnd.payload).toMatchObject({
      name: "get_weather",
      callId: "toolu_01",
      result: "18°C, sunny",
    });
    expect(typeof toolEnd.payload.latencyMs).toBe("number");
    // The tool ended before the next LLM call began.
    expect(toolEnd.seq).toBeLessThan(only(traceB!, "llm.start").seq);
  });

  it("an is_error tool_result emits tool.error; a result is matched once", async () => {
    const first = message([toolUse("toolu_02", "get_weather", { city: "Atlantis" })]);
    api.enqueue(
      { kind: "json", body: first },
      { kind: "json", body: message([text("I could not find it.")]) },
      { kind: "json", body: message([text("Anything else?")]) },
    );
    const client = wrapAnthropic(sdk(), { chorus: hub.chorus });
    const turn1 = await client.messages.create({
      model: "claude-test-1",
      max_tokens: 64,
      tools,
      messages: [question],
    });
    const history = followUp(turn1.content, "toolu_02", "city not found", true);
    await client.messages.create({
      model: "claude-test-1",
      max_tokens: 64,
      tools,
      messages: history,
    });
    // The same history again (the next turn): no second tool.error.
    await client.messages.create({
      model: "claude-test-1",
      max_tokens: 64,
      tools,
      messages: [...history, { role: "user", content: "ok" }],
    });

    const start = (await hub.events()).filter((e) => e.type === "tool.start").at(-1)!;
    const trace = await hub.events({ traceId: start.traceId! });
    expect(types(trace)).toEqual(["llm.start", "llm.end", "tool.start", "tool.error"]);
    expect(only(trace, "tool.error").payload).toMatchObject({
      name: "get_weather",
      callId: "toolu_02",
      error: { message: "city not found" },
    });
    expect(only(trace, "tool.error").spanId).toBe(start.spanId);
  });

  it("a streamed tool_use (input_json_delta) emits tool.start with the parsed arguments", async () => {
    const first = message([
      text("Checking"),
      toolUse("toolu_03", "get_weather", { city: "Oslo", units: "metric" }),
    ]);
    api.enqueue(
      { kind: "sse", events: sseEvents(first) },
      { kind: "sse", events: sseEvents(message([text("Cold.")])) },
    );
    const client = wrapAnthropic(sdk(), { chorus: hub.chorus });

    const turn1 = await client.messages
      .stream({ model: "claude-test-1", max_tokens: 64, tools, messages: [question] })
      .finalMessage();
    expect(turn1.content[1]).toMatchObject({
      type: "tool_use",
      input: { city: "Oslo", units: "metric" },
    });
    await client.messages
      .stream({
        model: "claude-test-1",
        max_tokens: 64,
        tools,
        messages: followUp(turn1.content, "toolu_03", "-3°C"),
      })
      .finalText();

    const start = (await hub.events()).filter((e) => e.type === "tool.start").at(-1)!;
    const trace = await hub.events({ traceId: start.traceId! });
    expect(types(trace)).toEqual([
      "llm.start",
      "llm.end",
      "agent.message",
      "tool.start",
      "tool.end",
    ]);
    expect(start.payload).toEqual({
      name: "get_weather",
      callId: "toolu_03",
      arguments: { city: "Oslo", units: "metric" },
    });
    expect(only(trace, "tool.end").payload).toMatchObject({ callId: "toolu_03", result: "-3°C" });
    expect(only(trace, "llm.end").metadata).toMatchObject({ method: "messages.stream" });
  });

  it("inside withTrace (an intent handler), every call joins the trace and carries the intent and agent", async () => {
    const first = message([toolUse("toolu_04", "get_weather", { city: "Rome" })]);
    api.enqueue({ kind: "json", body: first }, { kind: "json", body: message([text("Warm.")]) });
    const client = wrapAnthropic(sdk(), { chorus: hub.chorus, agent: "fallback-name" });

    const outer = await withTrace(
      async () => {
        const turn1 = await client.messages.create({
          model: "claude-test-1",
          max_tokens: 64,
          tools,
          messages: [question],
        });
        await client.messages.create({
          model: "claude-test-1",
          max_tokens: 64,
          tools,
          messages: followUp(turn1.content, "toolu_04", "25°C"),
        });
        return hub.chorus.currentTrace()!;
      },
      { intentId: "intent_42", agent: "researcher" },
    );

    const trace = await hub.events({ traceId: outer.traceId });
    expect(types(trace)).toEqual([
      "llm.start",
      "llm.end",
      "tool.start",
      "tool.end",
      "llm.start",
      "llm.end",
      "agent.message",
    ]);
    expect(trace.every((e) => e.intentId === "intent_42" && e.agent === "researcher")).toBe(true);
    const llmStarts = trace.filter((e) => e.type === "llm.start");
    expect(llmStarts.every((e) => e.parentSpanId === outer.spanId)).toBe(true);
    expect(llmStarts[0]!.spanId).not.toBe(llmStarts[1]!.spanId);
    expect(only(trace, "tool.start").parentSpanId).toBe(llmStarts[0]!.spanId);
  });
});
