import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { wrapAnthropic } from "../src/index.js";
import { startFakeApi, type FakeApi } from "./helpers/fake-api.js";
import { outcome, scenarios } from "./helpers/scenarios.js";
import { recordingSink } from "./helpers/sink.js";

/*
 * A bug in our own mapping, simulated: every function that turns SDK objects into payloads
 * throws. The SDK's results must not change, and nothing may escape as an unhandled rejection.
 */
vi.mock("../src/mapping.js", async (importOriginal) => {
  const original = await importOriginal<typeof import("../src/mapping.js")>();
  const boom = () => {
    throw new Error("mapping bug");
  };
  return {
    ...original,
    llmStartPayload: boom,
    summarizeMessage: boom,
    errorInfo: boom,
    toolResults: boom,
  };
});
vi.mock("../src/stream-accumulator.js", async (importOriginal) => {
  const original = await importOriginal<typeof import("../src/stream-accumulator.js")>();
  class Broken extends original.StreamAccumulator {
    override add(): never {
      throw new Error("accumulator bug");
    }
  }
  return { ...original, StreamAccumulator: Broken };
});

let api: FakeApi;
beforeAll(async () => {
  api = await startFakeApi();
});
afterAll(async () => {
  await api.close();
});

const sdk = () => new Anthropic({ apiKey: "test", baseURL: api.url, maxRetries: 0 });

describe("chaos: the mapping throws", () => {
  it.each(scenarios)(
    "$name: the SDK's outcome is identical to an unwrapped client's",
    async (scenario) => {
      const answers = scenario.answers();
      api.enqueue(...answers);
      const plain = await outcome(() => scenario.run(sdk()));
      const errors: string[] = [];
      api.enqueue(...answers);
      const client = wrapAnthropic(sdk(), {
        chorus: recordingSink(),
        logger: false,
        onError: (_e, context) => errors.push(context.operation),
      });
      const wrapped = await outcome(() => scenario.run(client));
      expect(wrapped).toEqual(plain);
      if (answers.length > 0) expect(errors.length).toBeGreaterThan(0);
    },
  );
});
