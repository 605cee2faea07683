import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { wrapAnthropic } from "../src/index.js";
import { startFakeApi, type FakeApi } from "./helpers/fake-api.js";
import { only, startTestHub, type TestHub, types } from "./helpers/hub.js";
import { errorBody } from "./helpers/messages.js";

let api: FakeApi;
let hub: TestHub;

beforeAll(async () => {
  api = await startFakeApi();
  hub = await startTestHub("errors");
});
afterAll(async () => {
  await api.close();
  await hub.close();
});

const sdk = (baseURL = api.url) => new Anthropic({ apiKey: "test", baseURL, maxRetries: 0 });
const ask = {
  model: "claude-test-1",
  max_tokens: 64,
  messages: [{ role: "user" as const, content: "Hi" }],
};

async function failureOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the call to fail");
}

async function lastTrace() {
  const start = (await hub.events()).filter((e) => e.type === "llm.start").at(-1)!;
  return hub.events({ traceId: start.traceId! });
}

describe("API errors", () => {
  it.each([
    { status: 429, type: "rate_limit_error", cls: Anthropic.RateLimitError },
    { status: 529, type: "overloaded_error", cls: Anthropic.OverloadedError },
    { status: 400, type: "invalid_request_error", cls: Anthropic.BadRequestError },
  ])(
    "$status $type reaches the caller as the SDK's own error, and llm.error is emitted",
    async ({ status, type, cls }) => {
      const body = errorBody(type, `scripted ${status}`);
      // The SDK puts the request id in the error's message (1.17): the same for both calls.
      const headers = { "request-id": `req_scripted_${status}` };
      api.enqueue({ kind: "json", status, body, headers }, { kind: "json", status, body, headers });

      const plain = await failureOf(sdk().messages.create(ask));
      const wrapped = await failureOf(
        wrapAnthropic(sdk(), { chorus: hub.chorus }).messages.create(ask),
      );

      expect(wrapped).toBeInstanceOf(cls);
      expect(Object.getPrototypeOf(wrapped)).toBe(Object.getPrototypeOf(plain));
      expect(wrapped.message).toBe(plain.message);
      expect((wrapped as InstanceType<typeof Anthropic.APIError>).status).toBe(status);
      expect((wrapped as InstanceType<typeof Anthropic.APIError>).error).toEqual(body);

      const events = await lastTrace();
      expect(types(events)).toEqual(["llm.start", "llm.error"]);
      const error = only(events, "llm.error");
      expect(error.payload).toMatchObject({
        model: "claude-test-1",
        provider: "anthropic",
        error: { status, type },
      });
      expect(error.metadata).toMatchObject({
        errorClass: wrapped.name,
        requestId: expect.stringMatching(/^req_/),
      });
      expect(error.spanId).toBe(events[0]!.spanId);
    },
  );

  it("the error is the very instance the SDK threw (withResponse and plain await alike)", async () => {
    api.enqueue({ kind: "json", status: 429, body: errorBody("rate_limit_error", "slow down") });
    const client = wrapAnthropic(sdk(), { chorus: hub.chorus });
    const promise = client.messages.create(ask);
    const viaAwait = await promise.catch((e: unknown) => e);
    const viaWithResponse = await promise.withResponse().catch((e: unknown) => e);
    // One request, one parse: both ways of reading the promise see the same error object.
    expect(viaWithResponse).toBe(viaAwait);
    expect(api.requests.length).toBeGreaterThan(0);
  });

  it("a connection failure is the SDK's APIConnectionError, and llm.error says so", async () => {
    const client = wrapAnthropic(sdk("http://127.0.0.1:9"), { chorus: hub.chorus });
    const failure = await client.messages.create(ask).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(Anthropic.APIConnectionError);
    const events = await lastTrace();
    expect(only(events, "llm.error").payload.error).toMatchObject({ type: "APIConnectionError" });
  });
});
