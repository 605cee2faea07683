import Anthropic, { APIPromise } from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { wrapAnthropic } from "../src/index.js";
import { startFakeApi, type FakeApi } from "./helpers/fake-api.js";
import { only, startTestHub, type TestHub, types } from "./helpers/hub.js";
import { message, text } from "./helpers/messages.js";

let api: FakeApi;
let hub: TestHub;

beforeAll(async () => {
  api = await startFakeApi();
  hub = await startTestHub("create");
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

describe("messages.create", () => {
  it("returns the SDK's message and emits llm.start, llm.end and agent.message in one span", async () => {
    const body = message([text("Hello there")], {
      usage: {
        input_tokens: 10,
        output_tokens: 3,
        cache_read_input_tokens: 4,
        cache_creation_input_tokens: 2,
      },
    });
    api.enqueue({ kind: "json", body });
    const client = wrapAnthropic(sdk(), { chorus: hub.chorus, agent: "greeter" });

    const result = await client.messages.create({ ...ask, stop_sequences: ["END"] });

    expect(result).toEqual(body);
    expect(result._request_id).toMatch(/^req_/);
    const start = (await hub.events()).find((e) => e.type === "llm.start")!;
    const events = await hub.events({ traceId: start.traceId! });
    expect(types(events)).toEqual(["llm.start", "llm.end", "agent.message"]);
    const end = only(events, "llm.end");
    expect(start.spanId).toBe(end.spanId);
    expect(start.parentSpanId).toBeUndefined();
    expect(start.agent).toBe("greeter");
    expect(start.payload).toMatchObject({
      model: "claude-test-1",
      provider: "anthropic",
      messages: [{ role: "user", content: "Hi" }],
      params: { max_tokens: 64, stop_sequences: ["END"] },
    });
    expect(end.payload).toMatchObject({
      model: "claude-test-1",
      provider: "anthropic",
      finishReason: "stop",
      usage: {
        inputTokens: 16,
        outputTokens: 3,
        totalTokens: 19,
        cacheReadTokens: 4,
        cacheWriteTokens: 2,
      },
    });
    expect(typeof end.payload.latencyMs).toBe("number");
    expect(end.payload.timeToFirstTokenMs).toBeUndefined();
    expect(end.metadata).toMatchObject({
      framework: "anthropic",
      method: "messages.create",
      stream: false,
      stopReason: "end_turn",
      messageId: body.id,
    });
    expect(only(events, "agent.message").payload).toEqual({
      role: "assistant",
      text: "Hello there",
    });
  });

  it("returns the SDK's own APIPromise: withResponse() and asResponse() still work", async () => {
    const client = wrapAnthropic(sdk(), { chorus: hub.chorus });

    api.enqueue({ kind: "json", body: message([text("one")]) });
    const promise = client.messages.create(ask);
    expect(promise).toBeInstanceOf(APIPromise);
    const { data, response, request_id } = await promise.withResponse();
    expect(data.content).toEqual([{ type: "text", text: "one" }]);
    expect(response.status).toBe(200);
    expect(request_id).toMatch(/^req_/);

    api.enqueue({ kind: "json", body: message([text("two")]) });
    const raw = await client.messages.create(ask).asResponse();
    // The body is the caller's to read: the adapter has not touched it.
    expect(raw.bodyUsed).toBe(false);
    expect(((await raw.json()) as { content: unknown }).content).toEqual([
      { type: "text", text: "two" },
    ]);

    const events = await hub.events();
    const ends = events.filter((e) => e.type === "llm.end");
    const rawEnd = ends.find((e) => e.metadata.raw === true)!;
    expect(rawEnd.payload).toMatchObject({ model: "claude-test-1", provider: "anthropic" });
    expect(rawEnd.metadata.status).toBe(200);
    // withResponse() parsed the body, so its end has the usage.
    expect(
      ends.some(
        (e) =>
          e.metadata.raw !== true &&
          (e.payload.usage as { outputTokens?: number })?.outputTokens === 7,
      ),
    ).toBe(true);
  });

  it("gives the same result as an unwrapped client", async () => {
    const body = message([text("same")]);
    api.enqueue({ kind: "json", body }, { kind: "json", body });
    const plain = await sdk().messages.create(ask);
    const wrapped = await wrapAnthropic(sdk(), { chorus: hub.chorus }).messages.create(ask);
    expect(wrapped).toEqual(plain);
    expect(Object.getPrototypeOf(wrapped)).toBe(Object.getPrototypeOf(plain));
  });

  it("keeps prompt and completion text out with capture: metadata", async () => {
    api.enqueue({ kind: "json", body: message([text("secret answer")]) });
    const client = wrapAnthropic(sdk(), { chorus: hub.chorus, capture: "metadata" });
    await client.messages.create({ ...ask, system: "be terse" });
    const events = await hub.events();
    const start = events.filter((e) => e.type === "llm.start").at(-1)!;
    const trace = await hub.events({ traceId: start.traceId! });
    expect(types(trace)).toEqual(["llm.start", "llm.end"]);
    expect(JSON.stringify(trace)).not.toContain("secret answer");
    expect(JSON.stringify(trace)).not.toContain("be terse");
    expect(only(trace, "llm.end").payload.usage).toMatchObject({ outputTokens: 7 });
  });
});
