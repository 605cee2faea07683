import Anthropic from "@anthropic-ai/sdk";
import { Messages } from "@anthropic-ai/sdk/resources/messages";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isWrapped, unwrapAnthropic, wrapAnthropic } from "../src/index.js";
import { startFakeApi, type FakeApi } from "./helpers/fake-api.js";
import { message, text } from "./helpers/messages.js";
import { recordingSink } from "./helpers/sink.js";

let api: FakeApi;
beforeAll(async () => {
  api = await startFakeApi();
});
afterAll(async () => {
  await api.close();
});

const sdk = () => new Anthropic({ apiKey: "test", baseURL: api.url, maxRetries: 0 });
const ask = {
  model: "claude-test-1",
  max_tokens: 64,
  messages: [{ role: "user" as const, content: "Hi" }],
};

describe("wrap and unwrap", () => {
  it("returns the same client, typed as it was", () => {
    const client = sdk();
    const wrapped: Anthropic = wrapAnthropic(client, { chorus: recordingSink() });
    expect(wrapped).toBe(client);
    expect(isWrapped(client)).toBe(true);
  });

  it("wrapping twice never doubles events", async () => {
    const sink = recordingSink();
    const client = wrapAnthropic(wrapAnthropic(sdk(), { chorus: sink }), { chorus: sink });
    api.enqueue({ kind: "json", body: message([text("once")]) });
    await client.messages.create(ask);
    expect(sink.events.map((e) => e.type)).toEqual(["llm.start", "llm.end", "agent.message"]);
  });

  it("unwrap restores the SDK's own create, and a re-wrap works again", async () => {
    const sink = recordingSink();
    const client = wrapAnthropic(sdk(), { chorus: sink });
    expect(Object.hasOwn(client.messages, "create")).toBe(true);
    unwrapAnthropic(client);
    expect(Object.hasOwn(client.messages, "create")).toBe(false);
    expect(client.messages.create).toBe(Messages.prototype.create);
    expect(isWrapped(client)).toBe(false);

    api.enqueue({ kind: "json", body: message([text("quiet")]) });
    await client.messages.create(ask);
    expect(sink.events).toEqual([]);

    wrapAnthropic(client, { chorus: sink });
    api.enqueue({ kind: "json", body: message([text("loud")]) });
    await client.messages.create(ask);
    expect(sink.events.map((e) => e.type)).toEqual(["llm.start", "llm.end", "agent.message"]);
  });

  it("unwrap under another wrapper leaves that wrapper working and ours silent", async () => {
    const sink = recordingSink();
    const client = wrapAnthropic(sdk(), { chorus: sink });
    const ours = client.messages.create;
    let theirs = 0;
    // Someone else instruments create on top of ours.
    client.messages.create = function (this: unknown, ...args: unknown[]) {
      theirs++;
      return (ours as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof client.messages.create;
    unwrapAnthropic(client);

    api.enqueue({ kind: "json", body: message([text("passthrough")]) });
    const result = await client.messages.create(ask);
    expect(result.content).toEqual([{ type: "text", text: "passthrough" }]);
    expect(theirs).toBe(1);
    expect(sink.events).toEqual([]);
    expect(isWrapped(client)).toBe(false);

    // Wrapping again revives ours where it sits, still without doubling.
    wrapAnthropic(client, { chorus: sink });
    api.enqueue({ kind: "json", body: message([text("again")]) });
    await client.messages.create(ask);
    expect(sink.events.map((e) => e.type)).toEqual(["llm.start", "llm.end", "agent.message"]);
  });

  it("two clients are independent", async () => {
    const a = recordingSink();
    const b = recordingSink();
    const first = wrapAnthropic(sdk(), { chorus: a, channel: "a" });
    wrapAnthropic(sdk(), { chorus: b, channel: "b" });
    api.enqueue({ kind: "json", body: message([text("to a")]) });
    await first.messages.create(ask);
    expect(a.events.length).toBe(3);
    expect(a.events.every((e) => e.channel === "a")).toBe(true);
    expect(b.events).toEqual([]);
  });

  it("creates a Chorus client from options when given none, and unwrap closes it", async () => {
    const client = wrapAnthropic(sdk(), {
      chorus: { url: "http://127.0.0.1:9", apiKey: "k", logger: false, drainOnExit: false },
      logger: false,
    });
    api.enqueue({ kind: "json", body: message([text("own client")]) });
    const result = await client.messages.create(ask);
    expect(result.content).toEqual([{ type: "text", text: "own client" }]);
    unwrapAnthropic(client);
    expect(isWrapped(client)).toBe(false);
  });

  it("leaves anything that is not a client alone", () => {
    expect(wrapAnthropic(null as unknown as Anthropic)).toBe(null);
    const odd = { messages: {} } as unknown as Anthropic;
    expect(wrapAnthropic(odd, { chorus: recordingSink() })).toBe(odd);
    expect(unwrapAnthropic(odd)).toBe(odd);
  });

  it("unwrap closes a client it created within the client's drain timeout, for a hanging hub", async () => {
    // The hub accepts the batch and never answers: the request ends only when close() aborts it.
    let aborted!: () => void;
    const abortedNow = new Promise<void>((resolve) => {
      aborted = resolve;
    });
    const hanging = (_url: string | URL | Request, init?: RequestInit) =>
      new Promise<Response>((_resolve, reject) => {
        init?.signal?.addEventListener("abort", () => {
          aborted();
          reject(init.signal?.reason);
        });
      });
    const client = wrapAnthropic(sdk(), {
      chorus: {
        url: "http://127.0.0.1:9",
        apiKey: "key_acme_0123456789",
        logger: false,
        drainOnExit: false,
        fetch: hanging,
        timeoutMs: 60_000,
        drainTimeoutMs: 200,
        flushIntervalMs: 60_000,
      },
    });
    api.enqueue({ kind: "json", body: message([text("bye")]) });
    await client.messages.create(ask);
    unwrapAnthropic(client);
    // Were close()'s default 5 s waited, this test would outlive its own timeout; the exit
    // budget the user chose is 200 ms.
    await abortedNow;
  }, 3_000);
});
