import { AIMessage } from "@langchain/core/messages";
import { fakeModel } from "@langchain/core/testing";
import { createAgent } from "langchain";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ChorusCallbackHandler } from "../src/index.js";
import { freshChannel, getWeather, readBack, startHub, type TestHub, types } from "./helpers.js";

// A bug in our own mapping: every function that turns LangChain objects into payloads throws.
vi.mock("../src/mapping.js", async (importOriginal) => {
  const original = await importOriginal<Record<string, unknown>>();
  const broken: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(original)) {
    broken[key] =
      typeof value === "function"
        ? () => {
            throw new Error(`mapping bug in ${key}`);
          }
        : value;
  }
  return broken;
});

let t: TestHub;
beforeAll(async () => {
  t = await startHub();
});
afterAll(async () => {
  await t.close();
});

function agent() {
  const model = fakeModel()
    .respondWithTools([{ name: "get_weather", args: { city: "Paris" }, id: "call_1" }])
    .respond(new AIMessage("It is sunny."));
  return createAgent({ model, tools: [getWeather] });
}

const question = { messages: [{ role: "user", content: "Weather in Paris?" }] };

describe("chaos: internal mapping forced to throw", () => {
  it("the run's result is unchanged, errors go to onError, and runs are still started and ended", async () => {
    const channel = freshChannel();
    const errors: { error: unknown; operation: string }[] = [];
    const handler = new ChorusCallbackHandler({
      chorus: t.chorus,
      channel,
      logger: false,
      onError: (error, context) => errors.push({ error, operation: context.operation }),
    });
    const bare = await agent().invoke(question);
    const instrumented = await agent().invoke(question, { callbacks: [handler] });
    expect(instrumented.messages.map((m) => [m.type, m.content])).toEqual(
      bare.messages.map((m) => [m.type, m.content]),
    );

    expect(errors.length).toBeGreaterThan(0);
    expect(String((errors[0]!.error as Error).message)).toMatch(/^mapping bug in /);
    expect(errors.map((e) => e.operation)).toContain("handleChainStart (mapping)");

    // Payloads fall back to their bare minimum, but the events and their links survive.
    const events = await readBack(t.chorus, channel);
    expect(types(events)).toEqual([
      "agent.start",
      "llm.start",
      "llm.end",
      "tool.start",
      "tool.end",
      "llm.start",
      "llm.end",
      "agent.message",
      "agent.end",
    ]);
    const start = events[0]!;
    expect(events.at(-1)!.spanId).toBe(start.spanId);
    expect(new Set(events.map((e) => e.traceId)).size).toBe(1);
  });
});
