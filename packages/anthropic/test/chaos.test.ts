import Anthropic from "@anthropic-ai/sdk";
import { Chorus } from "@chorus/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type WrapAnthropicOptions, wrapAnthropic } from "../src/index.js";
import { startFakeApi, type FakeApi } from "./helpers/fake-api.js";
import { startTestHub, type TestHub } from "./helpers/hub.js";
import { outcome, scenarios, throwingParams } from "./helpers/scenarios.js";

let api: FakeApi;
let hub: TestHub;
let down: Chorus;

beforeAll(async () => {
  api = await startFakeApi();
  hub = await startTestHub("chaos");
  // Nothing listens on port 9: every delivery fails, the circuit opens, emit() still returns at once.
  down = new Chorus({
    url: "http://127.0.0.1:9",
    apiKey: "k",
    timeoutMs: 200,
    maxRetries: 0,
    logger: false,
    drainOnExit: false,
  });
});
afterAll(async () => {
  await down.close(100);
  await api.close();
  await hub.close();
});

const sdk = () => new Anthropic({ apiKey: "test", baseURL: api.url, maxRetries: 0 });

const throwingSink = {
  emit() {
    throw new Error("emit exploded");
  },
} as unknown as Chorus;

const environments: { name: string; options: () => WrapAnthropicOptions }[] = [
  { name: "hub down", options: () => ({ chorus: down }) },
  { name: "emit throws", options: () => ({ chorus: throwingSink, logger: false }) },
  {
    name: "emit and onError throw, logger throws",
    options: () => ({
      chorus: throwingSink,
      onError: () => {
        throw new Error("onError exploded");
      },
      logger: {
        debug() {},
        info() {},
        warn() {
          throw new Error("logger exploded");
        },
        error() {},
      },
    }),
  },
  { name: "real hub", options: () => ({ chorus: hub.chorus, emitTokens: true }) },
];

describe.each(environments)("chaos: $name", ({ options }) => {
  it.each(scenarios)(
    "$name: the SDK's outcome is identical to an unwrapped client's",
    async (scenario) => {
      const answers = scenario.answers();
      api.enqueue(...answers);
      const plain = await outcome(() => scenario.run(sdk()));
      api.enqueue(...answers);
      const wrapped = await outcome(() => scenario.run(wrapAnthropic(sdk(), options())));
      expect(wrapped).toEqual(plain);
    },
  );

  it("params whose getters throw: the SDK's own error, unchanged", async () => {
    const plain = await outcome(async () => sdk().messages.create(throwingParams()));
    const wrapped = await outcome(async () =>
      wrapAnthropic(sdk(), options()).messages.create(throwingParams()),
    );
    expect(wrapped).toEqual(plain);
    expect(plain).toMatchObject({ error: { message: "hostile getter" } });
  });
});

describe("chaos: reporting", () => {
  it("what the adapter swallows goes to onError, once per failure, with the operation", async () => {
    const seen: string[] = [];
    const client = wrapAnthropic(sdk(), {
      chorus: throwingSink,
      logger: false,
      onError: (_error, context) => seen.push(context.operation),
    });
    api.enqueue(...scenarios[0]!.answers());
    await client.messages.create({
      model: "claude-test-1",
      max_tokens: 8,
      messages: [{ role: "user", content: "x" }],
    });
    expect(seen).toEqual(["llm.start", "llm.end", "agent.message"]);
  });

  it("with the hub down, events wait in the client's bounded queue and the call returns normally", async () => {
    api.enqueue(...scenarios[0]!.answers());
    const client = wrapAnthropic(sdk(), { chorus: down });
    const before = down.stats();
    const result = await client.messages.create({
      model: "claude-test-1",
      max_tokens: 8,
      messages: [{ role: "user", content: "x" }],
    });
    expect(result.content).toEqual([{ type: "text", text: "hello" }]);
    const after = down.stats();
    expect(after.queued + after.failed + after.dropped).toBeGreaterThan(
      before.queued + before.failed + before.dropped,
    );
  });
});
