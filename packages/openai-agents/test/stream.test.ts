import type { Chorus, ChorusEvent } from "@chorus/core";
import type { Hub } from "@chorus/hub";
import {
  Agent,
  createGenerationSpan,
  type Model,
  type ModelRequest,
  Runner,
  type RunStreamEvent,
  type StreamEvent,
  Usage,
} from "@openai/agents";
import { assistantMessage, ScriptedModel } from "@openai/agents-core/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { instrument } from "../src/index.js";
import {
  cleanup,
  client,
  freshChannel,
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

describe("observeStream", () => {
  async function streamed(emitTokens: boolean) {
    const channel = freshChannel();
    const chorus = client(hub.url, { channel });
    const scenario = weatherScenario();
    const handle = track(
      instrument({ chorus, exclusive: true, hooks: scenario.runner, emitTokens }),
    );
    const result = await scenario.runner.run(scenario.triage, "Weather in Paris?", {
      stream: true,
    });
    const types: string[] = [];
    for await (const event of handle.observeStream(result)) types.push(event.type);
    await result.completed;
    return { result, types, events: await readEvents(chorus, channel) };
  }

  it("re-yields the SDK's events untouched and adds time to first token", async () => {
    const { result, types, events } = await streamed(false);
    expect(result.finalOutput).toBe("It is sunny in Paris.");
    expect(types).toContain("raw_model_stream_event");
    expect(types).toContain("run_item_stream_event");
    expect(ofType(events, "llm.token")).toEqual([]);
    const answer = ofType(events, "llm.end").at(-1);
    expect(answer?.payload).toHaveProperty("timeToFirstTokenMs");
  });

  it("with emitTokens, one llm.token per text delta inside the model call's span", async () => {
    const { events } = await streamed(true);
    const tokens = ofType(events, "llm.token");
    expect(tokens.map((t) => t.payload.index)).toEqual([0]);
    const answer = ofType(events, "llm.end").at(-1);
    expect(tokens[0]?.spanId).toBe(answer?.spanId);
    const seqs = [ofType(events, "llm.start").at(-1), tokens[0], answer].map((e) => e?.seq ?? 0);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });

  it("without emitTokens and outside observeStream there are no token events", async () => {
    const channel = freshChannel();
    const chorus = client(hub.url, { channel });
    const scenario = weatherScenario();
    track(instrument({ chorus, exclusive: true, emitTokens: true }));
    const result = await scenario.runner.run(scenario.triage, "Weather in Paris?", {
      stream: true,
    });
    for await (const _event of result) {
      // consumed directly
    }
    await result.completed;
    expect(ofType(await readEvents(chorus, channel), "llm.token")).toEqual([]);
  });
});

/** A model that streams "Hel", then waits for more until its request is aborted. */
class StalledModel implements Model {
  async getResponse(): Promise<never> {
    throw new Error("streamed only");
  }
  async *getStreamedResponse(request: ModelRequest): AsyncIterable<StreamEvent> {
    yield { type: "response_started" };
    yield { type: "output_text_delta", delta: "Hel" };
    await new Promise((_resolve, reject) => {
      const fail = () => reject(Object.assign(new Error("aborted"), { name: "AbortError" }));
      if (request.signal?.aborted) fail();
      request.signal?.addEventListener("abort", fail);
    });
  }
}

/** A model that traces itself as the SDK's OpenAI models do: an aborted request errors its span. */
class TracedStalledModel extends StalledModel {
  override async *getStreamedResponse(request: ModelRequest): AsyncIterable<StreamEvent> {
    const span = createGenerationSpan({ data: { model: "gpt-test" } });
    span.start();
    try {
      yield* super.getStreamedResponse(request);
    } catch (error) {
      span.setError({ message: "Error streaming response" });
      throw error;
    } finally {
      span.end();
    }
  }
}

describe("a cancelled streamed run", () => {
  it("types the aborted call of a model that traces itself as AbortError", async () => {
    const channel = freshChannel();
    const chorus = client(hub.url, { channel });
    const handle = track(instrument({ chorus, exclusive: true }));
    const agent = new Agent({ name: "Slow", instructions: "x", model: new TracedStalledModel() });
    const result = await new Runner().run(agent, "Hi", { stream: true });
    for await (const event of handle.observeStream(result))
      if (event.type === "raw_model_stream_event" && event.data.type === "output_text_delta") break;
    await result.completed;
    await expect
      .poll(async () => ofType(await readEvents(chorus, channel), "agent.error").length)
      .toBe(2);
    const events = await readEvents(chorus, channel);
    expect(unclosed(events)).toEqual([]);
    expect(ofType(events, "llm.error").map((e) => e.payload)).toEqual([
      expect.objectContaining({
        model: "gpt-test",
        error: { message: "Error streaming response", type: "AbortError" },
      }),
    ]);
  });

  for (const how of ["the reader stops early", "the run's signal aborts"] as const)
    it(`reads as aborted, not finished, when ${how}`, async () => {
      const channel = freshChannel();
      const chorus = client(hub.url, { channel });
      const handle = track(instrument({ chorus, exclusive: true }));
      const agent = new Agent({
        name: "Slow",
        instructions: "Be slow.",
        model: new StalledModel(),
      });
      const controller = new AbortController();
      const result = await new Runner().run(agent, "Hi", {
        stream: true,
        signal: controller.signal,
      });
      for await (const event of handle.observeStream(result)) {
        if (event.type !== "raw_model_stream_event" || event.data.type !== "output_text_delta")
          continue;
        if (how === "the run's signal aborts") controller.abort();
        else break;
      }
      await result.completed;
      expect(result.cancelled).toBe(true);
      await expect
        .poll(async () => ofType(await readEvents(chorus, channel), "agent.error").length)
        .toBe(2);
      const events = await readEvents(chorus, channel);
      expect(ofType(events, "llm.end")).toEqual([]);
      const [failed] = ofType(events, "llm.error");
      expect(failed?.payload).toMatchObject({ error: { type: "AbortError" } });
      expect(ofType(events, "agent.end")).toEqual([]);
      expect(ofType(events, "agent.error").map((e) => e.payload)).toEqual([
        expect.objectContaining({
          name: "Slow",
          error: expect.objectContaining({ type: "AbortError" }),
        }),
        expect.objectContaining({
          name: "Agent workflow",
          error: expect.objectContaining({ type: "AbortError" }),
        }),
      ]);
    });
});

/** Every start on the channel has exactly one end or error (what the live console shows as done). */
function unclosed(events: readonly ChorusEvent[]): string[] {
  const ends = new Map<string | undefined, number>();
  for (const e of events)
    if (/\.(end|error)$/.test(e.type)) ends.set(e.spanId, (ends.get(e.spanId) ?? 0) + 1);
  return events
    .filter((e) => e.type.endsWith(".start") && ends.get(e.spanId) !== 1)
    .map((e) => `${e.type} ${String((e.payload as { name?: unknown }).name ?? "")}`);
}

type Cancel = "breaks out of the stream" | "cancels toStream()" | "aborts the run's signal";

/** Start a streamed run of a stalling agent and cancel it the given way, reading it directly. */
async function cancelDirectly(
  runner: Runner,
  how: Cancel,
  options: { tracing?: { includeTaskAndTurnSpans: boolean } } = {},
) {
  const agent = new Agent({ name: "Slow", instructions: "Be slow.", model: new StalledModel() });
  const controller = new AbortController();
  const result = await runner.run(agent, "Hi", {
    stream: true,
    signal: controller.signal,
    ...options,
  });
  // The SDK types `toStream()` with its own minimal stream interface; it is a web ReadableStream.
  const stream = result.toStream() as unknown as ReadableStream<RunStreamEvent>;
  const reader = how === "cancels toStream()" ? stream.getReader() : undefined;
  const events: AsyncIterable<RunStreamEvent> = reader
    ? {
        [Symbol.asyncIterator]: () =>
          ({ next: () => reader.read() }) as AsyncIterator<RunStreamEvent>,
      }
    : result;
  for await (const event of events) {
    if (event.type !== "raw_model_stream_event" || event.data.type !== "output_text_delta")
      continue;
    if (how === "aborts the run's signal") controller.abort();
    else if (reader) await reader.cancel();
    else break;
  }
  await result.completed;
  expect(result.cancelled).toBe(true);
  return { result, agent };
}

describe("a cancelled streamed run read directly, through a hooked Runner", () => {
  for (const how of [
    "breaks out of the stream",
    "cancels toStream()",
    "aborts the run's signal",
  ] as const)
    it(`reads as aborted when the reader ${how}`, async () => {
      const channel = freshChannel();
      const chorus = client(hub.url, { channel });
      const runner = new Runner();
      track(instrument({ chorus, exclusive: true, hooks: runner }));
      await cancelDirectly(runner, how);
      await expect
        .poll(async () => ofType(await readEvents(chorus, channel), "agent.error").length)
        .toBe(2);
      const events = await readEvents(chorus, channel);
      expect(unclosed(events)).toEqual([]);
      expect(ofType(events, "llm.end")).toEqual([]);
      expect(ofType(events, "agent.end")).toEqual([]);
      expect(ofType(events, "llm.error")[0]?.payload).toMatchObject({
        error: { type: "AbortError" },
      });
      expect(new Set(events.map((e) => e.traceId)).size).toBe(1);
    });
});

describe("a cancelled streamed run without task and turn spans", () => {
  // The SDK then never ends the agent span of a cancelled run (it keeps it for a resume), though
  // it ends the run's trace.
  const tracing = { includeTaskAndTurnSpans: false };

  async function agentEnds(chorus: Chorus, channel: string) {
    await expect
      .poll(async () => ofType(await readEvents(chorus, channel), "agent.error").length)
      .toBe(1);
    const events = await readEvents(chorus, channel);
    expect(unclosed(events)).toEqual([]);
    const [start] = ofType(events, "agent.start");
    const [failed] = ofType(events, "agent.error");
    expect(failed?.spanId).toBe(start?.spanId);
    expect(failed?.traceId).toBe(start?.traceId);
    expect(failed?.payload).toMatchObject({ name: "Slow", error: { type: "AbortError" } });
    return events;
  }

  it("ends its agent as aborted when read through observeStream", async () => {
    const channel = freshChannel();
    const chorus = client(hub.url, { channel });
    const handle = track(instrument({ chorus, exclusive: true }));
    const agent = new Agent({ name: "Slow", instructions: "Be slow.", model: new StalledModel() });
    const result = await new Runner().run(agent, "Hi", { stream: true, tracing });
    for await (const event of handle.observeStream(result))
      if (event.type === "raw_model_stream_event" && event.data.type === "output_text_delta") break;
    await result.completed;
    await agentEnds(chorus, channel);
  });

  it("ends its agent as aborted when a hooked Runner's stream is read directly", async () => {
    const channel = freshChannel();
    const chorus = client(hub.url, { channel });
    const runner = new Runner();
    track(instrument({ chorus, exclusive: true, hooks: runner }));
    await cancelDirectly(runner, "breaks out of the stream", { tracing });
    await agentEnds(chorus, channel);
  });

  it("does not end the agent twice when the cancelled run is resumed", async () => {
    const channel = freshChannel();
    const chorus = client(hub.url, { channel });
    const runner = new Runner();
    track(instrument({ chorus, exclusive: true, hooks: runner }));
    const { result, agent } = await cancelDirectly(runner, "breaks out of the stream", { tracing });
    await agentEnds(chorus, channel);
    agent.model = new ScriptedModel([{ output: [assistantMessage("Hello")], usage: new Usage() }]);
    const resumed = await runner.run(agent, result.state, { tracing });
    expect(resumed.finalOutput).toBe("Hello");
    const events = await readEvents(chorus, channel);
    expect(unclosed(events)).toEqual([]);
  });
});
