import Anthropic, { APIUserAbortError } from "@anthropic-ai/sdk";
import { Stream } from "@anthropic-ai/sdk/core/streaming";
import { MessageStream } from "@anthropic-ai/sdk/lib/MessageStream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { wrapAnthropic } from "../src/index.js";
import { startFakeApi, type FakeApi } from "./helpers/fake-api.js";
import { only, startTestHub, type TestHub, types, until } from "./helpers/hub.js";
import { errorBody, message, sseEvents, text } from "./helpers/messages.js";
import { recordingSink } from "./helpers/sink.js";

let api: FakeApi;
let hub: TestHub;

beforeAll(async () => {
  api = await startFakeApi();
  hub = await startTestHub("stream");
});
afterAll(async () => {
  await api.close();
  await hub.close();
});

const sdk = () => new Anthropic({ apiKey: "test", baseURL: api.url, maxRetries: 0 });
const ask = {
  model: "claude-test-1",
  max_tokens: 64,
  messages: [{ role: "user" as const, content: "Hi" }],
};

async function lastTrace(type = "llm.start") {
  const start = (await hub.events()).filter((e) => e.type === type).at(-1)!;
  return hub.events({ traceId: start.traceId! });
}

describe("messages.create({ stream: true })", () => {
  it("yields the SDK's Stream, and llm.end has input tokens from message_start and output from message_delta", async () => {
    const body = message([text("Hello streaming world")], {
      usage: { input_tokens: 21, output_tokens: 9, cache_read_input_tokens: 5 },
    });
    api.enqueue({ kind: "sse", events: sseEvents(body) });
    const client = wrapAnthropic(sdk(), { chorus: hub.chorus });

    const stream = await client.messages.create({ ...ask, stream: true });
    expect(stream).toBeInstanceOf(Stream);
    const seen: string[] = [];
    for await (const event of stream) seen.push(event.type);
    expect(seen[0]).toBe("message_start");
    expect(seen.at(-1)).toBe("message_stop");

    const events = await lastTrace();
    expect(types(events)).toEqual(["llm.start", "llm.end", "agent.message"]);
    const end = only(events, "llm.end");
    expect(end.payload).toMatchObject({
      model: "claude-test-1",
      finishReason: "stop",
      usage: { inputTokens: 26, outputTokens: 9, cacheReadTokens: 5 },
    });
    expect(end.payload).toHaveProperty("timeToFirstTokenMs");
    expect(end.metadata).toMatchObject({ method: "messages.create", stream: true });
    expect(only(events, "agent.message").payload.text).toBe("Hello streaming world");
  });

  it("emits llm.token only when asked to, and time to first token", async () => {
    const sink = recordingSink();
    api.enqueue({ kind: "sse", events: sseEvents(message([text("abcdefghij")])) });
    const client = wrapAnthropic(sdk(), { chorus: sink, emitTokens: true });
    const stream = await client.messages.create({ ...ask, stream: true });
    for await (const _ of stream) {
      // read to the end
    }
    expect(sink.events.map((e) => e.type)).toEqual([
      "llm.start",
      "llm.token",
      "llm.token",
      "llm.end",
      "agent.message",
    ]);
    const tokens = sink.events.filter((e) => e.type === "llm.token");
    expect(tokens.map((e) => e.payload)).toEqual([
      { token: "abcde", index: 0 },
      { token: "fghij", index: 1 },
    ]);
    expect(tokens.every((e) => e.spanId === sink.events[0]!.spanId)).toBe(true);
    const end = sink.events.find((e) => e.type === "llm.end")!;
    expect(typeof end.payload!.timeToFirstTokenMs).toBe("number");

    api.enqueue({ kind: "sse", events: sseEvents(message([text("abcdefghij")])) });
    const quiet = recordingSink();
    for await (const _ of await wrapAnthropic(sdk(), { chorus: quiet }).messages.create({
      ...ask,
      stream: true,
    })) {
      // read to the end
    }
    expect(quiet.events.map((e) => e.type)).toEqual(["llm.start", "llm.end", "agent.message"]);
  });

  // Both field names look like secrets to a naive redaction; the protocol defines them as data.
  it("stores llm.token text and timeToFirstTokenMs unredacted at the hub", async () => {
    api.enqueue({ kind: "sse", events: sseEvents(message([text("abcdefghij")])) });
    const client = wrapAnthropic(sdk(), { chorus: hub.chorus, emitTokens: true });
    for await (const _ of await client.messages.create({ ...ask, stream: true })) {
      // read to the end
    }
    const events = await lastTrace();
    expect(events.find((e) => e.type === "llm.token")!.payload.token).toBe("abcde");
    expect(typeof only(events, "llm.end").payload.timeToFirstTokenMs).toBe("number");
  });

  it("sees each event only when the caller reads it (no read-ahead)", async () => {
    const events = sseEvents(message([text("slow reader")]));
    api.enqueue({ kind: "sse", events });
    const client = wrapAnthropic(sdk(), { chorus: hub.chorus });
    const stream = await client.messages.create({ ...ask, stream: true });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next(); // message_start only
    await new Promise((r) => setTimeout(r, 50));
    const before = await lastTrace();
    expect(types(before)).toEqual(["llm.start"]);
    while (!(await iterator.next()).done) {
      // drain
    }
    expect(types(await lastTrace())).toEqual(["llm.start", "llm.end", "agent.message"]);
  });

  it("ends with llm.error when the caller breaks out early, with the usage so far", async () => {
    api.enqueue({
      kind: "sse",
      events: sseEvents(message([text("a long answer that we stop reading")])),
    });
    const client = wrapAnthropic(sdk(), { chorus: hub.chorus });
    const stream = await client.messages.create({ ...ask, stream: true });
    for await (const event of stream) {
      if (event.type === "content_block_delta") break;
    }
    const events = await lastTrace();
    expect(types(events)).toEqual(["llm.start", "llm.error"]);
    expect(only(events, "llm.error").payload).toMatchObject({
      error: { type: "APIUserAbortError" },
      usage: { inputTokens: 12 },
    });
  });

  it("reports an error event in the middle of a stream as llm.error, and the caller gets the SDK's APIError", async () => {
    const events = sseEvents(message([text("partial")])).slice(0, 4);
    events.push({ event: "error", data: errorBody("overloaded_error", "Overloaded") });
    api.enqueue({ kind: "sse", events });
    const client = wrapAnthropic(sdk(), { chorus: hub.chorus });
    const stream = await client.messages.create({ ...ask, stream: true });
    const failure = await (async () => {
      for await (const _ of stream) {
        // read until it fails
      }
    })().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(Anthropic.APIError);
    const trace = await lastTrace();
    expect(types(trace)).toEqual(["llm.start", "llm.error"]);
    expect(only(trace, "llm.error").payload.error).toMatchObject({ type: "overloaded_error" });
  });
});

describe("messages.stream()", () => {
  it("returns the SDK's MessageStream with its helpers and events", async () => {
    const body = message([text("Streamed by the helper")], {
      usage: { input_tokens: 30, output_tokens: 4 },
    });
    api.enqueue({ kind: "sse", events: sseEvents(body) });
    const client = wrapAnthropic(sdk(), { chorus: hub.chorus, agent: "helper" });

    const stream = client.messages.stream(ask);
    expect(stream).toBeInstanceOf(MessageStream);
    const deltas: string[] = [];
    stream.on("text", (delta) => deltas.push(delta));
    const final = await stream.finalMessage();
    expect(await stream.finalText()).toBe("Streamed by the helper");
    expect(deltas.join("")).toBe("Streamed by the helper");
    expect(final.usage).toMatchObject({ input_tokens: 30, output_tokens: 4 });

    const events = await lastTrace();
    expect(types(events)).toEqual(["llm.start", "llm.end", "agent.message"]);
    const end = only(events, "llm.end");
    expect(end.metadata).toMatchObject({ method: "messages.stream", stream: true });
    expect(end.payload.usage).toMatchObject({ inputTokens: 30, outputTokens: 4 });
    expect(end.agent).toBe("helper");
  });

  it("abort mid-stream: the caller gets the SDK's APIUserAbortError and llm.error is emitted once", async () => {
    api.enqueue({
      kind: "sse",
      events: sseEvents(message([text("never finished, sadly")])),
      pauseAfter: 4,
    });
    const client = wrapAnthropic(sdk(), { chorus: hub.chorus });
    const stream = client.messages.stream(ask);
    let aborted: unknown;
    stream.on("abort", (e) => {
      aborted = e;
    });
    await api.paused();
    await until(() => stream.currentMessage !== undefined);
    stream.abort();
    const failure = await stream.finalMessage().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(APIUserAbortError);
    expect(aborted).toBe(failure);
    expect(stream.aborted).toBe(true);

    await until(async () => (await lastTrace()).length >= 2);
    const events = await lastTrace();
    expect(types(events)).toEqual(["llm.start", "llm.error"]);
    expect(only(events, "llm.error").payload).toMatchObject({
      error: { type: "APIUserAbortError" },
    });
  });
});
