import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Chorus } from "@chorus/core";
import {
  generateObject,
  generateText,
  jsonSchema,
  type LanguageModel,
  stepCountIs,
  streamText,
  wrapLanguageModel,
} from "ai";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { LlmCall } from "../src/call.js";
import { type ChorusMiddlewareOptions, chorusMiddleware } from "../src/index.js";
import { StreamAssembler } from "../src/stream-assembler.js";
import { failingModel, scriptedModel, startTestHub, type TestHub, weatherTool } from "./helpers.js";

let hub: TestHub;
let down: Chorus;
let hanging: Chorus;
/** Accepts connections and never answers. */
let silent: Server;
beforeAll(async () => {
  hub = await startTestHub("ai-sdk-chaos");
  // Nothing listens on port 9: every delivery fails, the circuit opens, emit() still returns at once.
  down = new Chorus({
    url: "http://127.0.0.1:9",
    apiKey: "k",
    timeoutMs: 200,
    maxRetries: 0,
    logger: false,
    drainOnExit: false,
  });
  silent = createServer(() => {});
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  hanging = new Chorus({
    url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
    apiKey: "k",
    timeoutMs: 200,
    maxRetries: 0,
    logger: false,
    drainOnExit: false,
  });
});
afterAll(async () => {
  await down.close(100);
  await hanging.close(100);
  silent.closeAllConnections();
  await new Promise((resolve) => silent.close(resolve));
  await hub.close();
});

const throwingSink = {
  emit() {
    throw new Error("emit exploded");
  },
} as unknown as Chorus;

/** What a caller can observe of a run: answers, steps, tool results, usage, errors. */
async function outcome(run: () => Promise<unknown>): Promise<unknown> {
  try {
    return { ok: await run() };
  } catch (error) {
    const e = error as { name?: string; message?: string; statusCode?: number };
    return { error: { name: e.name, message: e.message, statusCode: e.statusCode } };
  }
}

const steps = (result: {
  steps: readonly { content: unknown; finishReason: unknown; usage: unknown }[];
}) =>
  result.steps.map((s) => ({ content: s.content, finishReason: s.finishReason, usage: s.usage }));

const person = jsonSchema<{ name: string }>({
  type: "object",
  properties: { name: { type: "string" } },
  required: ["name"],
});

const scenarios: {
  name: string;
  run: (wrap: (m: LanguageModel) => LanguageModel) => Promise<unknown>;
}[] = [
  {
    name: "generateText",
    run: async (wrap) => {
      const r = await generateText({
        model: wrap(scriptedModel([{ text: "hello" }])),
        prompt: "hi",
      });
      return { text: r.text, steps: steps(r) };
    },
  },
  {
    name: "generateText tool loop with a failing tool",
    run: async (wrap) => {
      const r = await generateText({
        model: wrap(
          scriptedModel([
            { weatherIn: "Oslo", callId: "c1" },
            { weatherIn: "Atlantis", callId: "c2" },
            { text: "done" },
          ]),
        ),
        tools: { weather: weatherTool("Atlantis") },
        stopWhen: stepCountIs(4),
        prompt: "weather",
      });
      return { text: r.text, steps: steps(r) };
    },
  },
  {
    name: "streamText tool loop",
    run: async (wrap) => {
      const r = streamText({
        model: wrap(
          scriptedModel([{ weatherIn: "Oslo", callId: "c1" }, { text: "twenty one degrees" }]),
        ),
        tools: { weather: weatherTool() },
        stopWhen: stepCountIs(3),
        prompt: "weather",
      });
      const parts: unknown[] = [];
      for await (const part of r.fullStream) parts.push(part);
      return { parts, text: await r.text };
    },
  },
  {
    name: "generateObject",
    run: async (wrap) => {
      const r = await generateObject({
        model: wrap(scriptedModel([{ text: '{"name":"Ada"}' }])),
        schema: person,
        prompt: "someone",
      });
      return { object: r.object, finishReason: r.finishReason };
    },
  },
  {
    name: "HTTP 500",
    run: async (wrap) =>
      generateText({ model: wrap(failingModel()), prompt: "hi", maxRetries: 1 }).then(
        (r) => r.text,
      ),
  },
];

const environments: {
  name: string;
  options: () => ChorusMiddlewareOptions;
  /** Break the adapter's own internals for the run; returns the undo. */
  sabotage?: () => () => void;
}[] = [
  { name: "hub down", options: () => ({ chorus: down }) },
  { name: "hub hanging (accepts, never answers)", options: () => ({ chorus: hanging }) },
  { name: "emit throws", options: () => ({ chorus: throwingSink, logger: false }) },
  {
    name: "emit, onError and the logger throw",
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
  {
    name: "internals throw",
    options: () => ({ chorus: hub.chorus, logger: false }),
    sabotage: () => {
      const spies = [
        vi.spyOn(StreamAssembler.prototype, "add").mockImplementation(() => {
          throw new Error("assembler exploded");
        }),
        vi.spyOn(LlmCall.prototype, "generated").mockImplementation(() => {
          throw new Error("mapping exploded");
        }),
        vi.spyOn(LlmCall.prototype, "begin").mockImplementation(() => {
          throw new Error("begin exploded");
        }),
      ];
      return () => {
        for (const spy of spies) spy.mockRestore();
      };
    },
  },
  { name: "real hub", options: () => ({ chorus: hub.chorus, emitTokens: true }) },
];

describe.each(environments)("chaos: $name", ({ options, sabotage }) => {
  it.each(scenarios)(
    "$name: the SDK's outcome is identical to an unwrapped model's",
    async (scenario) => {
      const plain = await outcome(() => scenario.run((model) => model));
      const undo = sabotage?.();
      try {
        const wrapped = await outcome(() =>
          scenario.run((model) =>
            wrapLanguageModel({ model: model as never, middleware: chorusMiddleware(options()) }),
          ),
        );
        expect(wrapped).toEqual(plain);
      } finally {
        undo?.();
      }
    },
  );
});

it("the real hub got every run's events while the others were failing", async () => {
  const events = await hub.events();
  expect(events.filter((e) => e.type === "llm.start").length).toBeGreaterThanOrEqual(8);
  expect(events.some((e) => e.type === "tool.error")).toBe(true);
  expect(events.some((e) => e.type === "llm.token")).toBe(true);
});
