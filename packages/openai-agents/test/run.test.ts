import type { Hub } from "@chorus/hub";
import { Agent, Usage } from "@openai/agents";
import { assistantMessage, functionCall, ScriptedModel } from "@openai/agents-core/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
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
  weatherScenario,
} from "./helpers.js";

let hub: Hub;
beforeAll(async () => {
  hub = await startHub();
});
afterEach(cleanup);
afterAll(async () => {
  await hub.close();
});

const EXPECTED_SEQUENCE = [
  "agent.start", // the run (task span)
  "agent.start", // Triage
  "llm.start",
  "agent.handoff",
  "llm.end",
  "agent.end", // Triage
  "agent.start", // Weather
  "llm.start",
  "tool.start",
  "tool.end",
  "llm.end",
  "llm.start",
  "llm.end",
  "agent.message",
  "agent.end", // Weather
  "agent.end", // the run
];

describe.each([
  { mode: "non-streaming", stream: false },
  { mode: "streaming", stream: true },
])("a handoff run with a tool call ($mode)", ({ stream }) => {
  async function runInstrumented() {
    const channel = freshChannel();
    const chorus = client(hub.url, { channel });
    const scenario = weatherScenario();
    track(instrument({ chorus, exclusive: true, hooks: scenario.runner }));
    let finalOutput: unknown;
    if (stream) {
      const result = await scenario.runner.run(scenario.triage, "Weather in Paris?", {
        stream: true,
      });
      for await (const _event of result) {
        // consumed fully, as an application would
      }
      await result.completed;
      finalOutput = result.finalOutput;
    } else {
      finalOutput = (await scenario.runner.run(scenario.triage, "Weather in Paris?")).finalOutput;
    }
    return { finalOutput, events: await readEvents(chorus, channel) };
  }

  it("emits the run as one trace, in order, with names and agents", async () => {
    const { finalOutput, events } = await runInstrumented();
    expect(finalOutput).toBe("It is sunny in Paris.");
    expect(events.map((e) => e.type)).toEqual(EXPECTED_SEQUENCE);
    const traceIds = new Set(events.map((e) => e.traceId));
    expect(traceIds.size).toBe(1);
    expect([...traceIds][0]).toMatch(/^[0-9a-f]{32}$/);
    for (const e of events) {
      expect(e.spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(e.metadata.framework).toBe("openai-agents");
      expect(e.metadata.sdkSpanId).toMatch(/^span_[0-9a-f]{24}$/);
      // The SDK's trace id is `trace_` + the event's traceId: not repeated in every event.
      expect(e.metadata.sdkTraceId).toBeUndefined();
    }
    expect(ofType(events, "agent.start").map((e) => e.payload.name)).toEqual([
      "Agent workflow",
      "Triage",
      "Weather",
    ]);
    expect(named(events, "tool.start", "get_weather").agent).toBe("Weather");
    expect(named(events, "agent.start", "Triage").agent).toBe("Triage");
  });

  it("links children to parents and pairs starts with ends by span id", async () => {
    const { events } = await runInstrumented();
    const run = named(events, "agent.start", "Agent workflow");
    const triage = named(events, "agent.start", "Triage");
    const weather = named(events, "agent.start", "Weather");
    expect(run.parentSpanId).toBeUndefined();
    expect(triage.parentSpanId).toBe(run.spanId);
    // The second agent is a sibling of the first in the same run, not a new trace.
    expect(weather.parentSpanId).toBe(run.spanId);
    expect(named(events, "agent.end", "Agent workflow").spanId).toBe(run.spanId);
    expect(named(events, "agent.end", "Triage").spanId).toBe(triage.spanId);
    expect(named(events, "agent.end", "Weather").spanId).toBe(weather.spanId);

    const [triageLlm, weatherLlm1, weatherLlm2] = ofType(events, "llm.start");
    expect(triageLlm?.parentSpanId).toBe(triage.spanId);
    expect(weatherLlm1?.parentSpanId).toBe(weather.spanId);
    expect(weatherLlm2?.parentSpanId).toBe(weather.spanId);
    expect(ofType(events, "llm.end").map((e) => e.spanId)).toEqual(
      [triageLlm, weatherLlm1, weatherLlm2].map((e) => e?.spanId),
    );

    // The tool runs inside the model turn that asked for it.
    const toolStart = named(events, "tool.start", "get_weather");
    const toolEnd = named(events, "tool.end", "get_weather");
    expect(toolStart.parentSpanId).toBe(weatherLlm1?.spanId);
    expect(toolEnd.spanId).toBe(toolStart.spanId);

    const handoff = ofType(events, "agent.handoff")[0];
    expect(handoff?.payload).toEqual({ from: "Triage", to: "Weather" });
    expect(handoff?.parentSpanId).toBe(triageLlm?.spanId);
  });

  it("carries usage, finish reasons, call ids, arguments, results and the final text", async () => {
    const { events } = await runInstrumented();
    const [triageEnd, toolTurnEnd, answerEnd] = ofType(events, "llm.end");
    expect(triageEnd?.payload).toMatchObject({
      usage: { inputTokens: 4, outputTokens: 1, totalTokens: 5 },
      finishReason: "tool_calls",
    });
    expect(toolTurnEnd?.payload).toMatchObject({
      usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15, cacheReadTokens: 3 },
      finishReason: "tool_calls",
      toolCalls: [{ name: "get_weather", callId: "call_1" }],
    });
    expect(answerEnd?.payload).toMatchObject({
      usage: { inputTokens: 20, outputTokens: 7 },
      finishReason: "stop",
    });
    expect(typeof toolTurnEnd?.payload.latencyMs).toBe("number");

    expect(named(events, "tool.start", "get_weather").payload).toEqual({
      name: "get_weather",
      callId: "call_1",
      arguments: { city: "Paris" },
    });
    expect(named(events, "tool.end", "get_weather").payload).toMatchObject({
      name: "get_weather",
      callId: "call_1",
      result: "sunny in Paris",
    });
    const message = ofType(events, "agent.message")[0];
    expect(message?.payload).toEqual({ role: "assistant", text: "It is sunny in Paris." });
    expect(message?.spanId).toBe(named(events, "agent.start", "Weather").spanId);
    // The run's end carries the total over every model call.
    expect(named(events, "agent.end", "Agent workflow").payload.usage).toMatchObject({
      inputTokens: 34,
      outputTokens: 13,
      totalTokens: 47,
    });
  });
});

describe("an agent used as a tool", () => {
  /** A planner that asks the scenario's weather agent, used as its tool, then answers. */
  function planner(scenario: ReturnType<typeof weatherScenario>): Agent {
    const usage = () => new Usage({ requests: 1, inputTokens: 3, outputTokens: 2, totalTokens: 5 });
    return new Agent({
      name: "Planner",
      instructions: "Ask the weather agent.",
      tools: [scenario.weather.asTool({ toolName: "ask_weather", toolDescription: "Weather" })],
      model: new ScriptedModel([
        {
          output: [functionCall("ask_weather", { input: "Paris?" }, { callId: "outer_1" })],
          usage: usage(),
        },
        { output: [assistantMessage("Sunny, says the weather agent.")], usage: usage() },
      ]),
    });
  }

  it("each model call reports its own usage: the nested run's is not added to the calling turn's", async () => {
    const channel = freshChannel();
    const chorus = client(hub.url, { channel });
    const scenario = weatherScenario();
    const outer = planner(scenario);
    track(instrument({ chorus, exclusive: true, hooks: scenario.runner }));
    const result = await scenario.runner.run(outer, "Weather in Paris?");
    expect(result.finalOutput).toBe("Sunny, says the weather agent.");
    const events = await readEvents(chorus, channel);
    const calls = ofType(events, "llm.end").map((e) => ({
      agent: e.agent,
      usage: e.payload.usage,
    }));
    expect(calls).toEqual([
      // The weather agent's two calls (10+5, 20+7), then the planner's own two (3+2 each).
      { agent: "Weather", usage: expect.objectContaining({ inputTokens: 10, outputTokens: 5 }) },
      { agent: "Weather", usage: expect.objectContaining({ inputTokens: 20, outputTokens: 7 }) },
      {
        agent: "Planner",
        usage: expect.objectContaining({ inputTokens: 3, outputTokens: 2, totalTokens: 5 }),
      },
      {
        agent: "Planner",
        usage: expect.objectContaining({ inputTokens: 3, outputTokens: 2, totalTokens: 5 }),
      },
    ]);
    // The run's own total still counts everything, once.
    const run = ofType(events, "agent.end").at(-1);
    expect(run?.payload.usage).toMatchObject({ inputTokens: 36, outputTokens: 16 });
  });

  it("its own tools get their call ids when the nested agent is hooked (its Runner cannot be)", async () => {
    const run = async (hookAgent: boolean) => {
      const channel = freshChannel();
      const chorus = client(hub.url, { channel });
      const scenario = weatherScenario();
      const outer = planner(scenario);
      const hooks = hookAgent ? [scenario.runner, scenario.weather] : [scenario.runner];
      track(instrument({ chorus, exclusive: true, hooks }));
      await scenario.runner.run(outer, "Weather in Paris?");
      const events = await readEvents(chorus, channel);
      await cleanup();
      return ofType(events, "tool.start").map((e) => [e.payload.name, e.payload.callId]);
    };
    expect(await run(false)).toEqual([
      ["ask_weather", "outer_1"],
      ["get_weather", undefined],
    ]);
    expect(await run(true)).toEqual([
      ["ask_weather", "outer_1"],
      ["get_weather", "call_1"],
    ]);
  });
});
