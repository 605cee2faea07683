import type { ChorusEvent } from "@chorus/core";
import {
  APICallError,
  generateText,
  jsonSchema,
  type LanguageModelMiddleware,
  type ModelMessage,
  stepCountIs,
  streamText,
  tool,
  wrapLanguageModel,
} from "ai";
import { MockLanguageModelV3 } from "ai/test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chorusMiddleware } from "../src/index.js";
import { scriptedModel, startTestHub, type TestHub, TOOL_LOOP, types } from "./helpers.js";

/*
 * Providers that number tool calls per answer (`call_0`: mock models, Ollama, many
 * OpenAI-compatible servers) ask every run with the same ids. Each test here drives the real SDK
 * through one middleware, as an app does, and checks what a user reads on the hub: which trace
 * each tool.start and tool.end landed in, and that an end carries its own start's span.
 */

let hub: TestHub;
beforeAll(async () => {
  hub = await startTestHub("ai-sdk-reused-ids");
});
afterAll(async () => {
  await hub.close();
});

let channels = 0;

/** A fresh middleware on a channel of its own, and the traces of that channel. */
function setup() {
  const channel = `reused-${++channels}`;
  const middleware = chorusMiddleware({ chorus: hub.chorus, channel });
  return {
    middleware,
    /** Every event of the channel, by trace, in the order the traces began. */
    async traces(): Promise<ChorusEvent[][]> {
      await hub.chorus.flush(5_000);
      const page = await hub.chorus.events.list({ channel, limit: 1000 });
      const byTrace = new Map<string, ChorusEvent[]>();
      for (const event of page.data) {
        const trace = byTrace.get(event.traceId as string) ?? [];
        trace.push(event);
        byTrace.set(event.traceId as string, trace);
      }
      return [...byTrace.values()];
    },
  };
}

interface RunOptions {
  /** The user's question (runs that ask alike send the same prompt). */
  prompt: string;
  /** Run until the tool call only: the loop stops after its tools, their results never sent back. */
  abandon?: boolean;
  /** Awaited inside the tool, before it answers. */
  gate?: Promise<void>;
  /** Called when the tool starts running. */
  onToolStart?: () => void;
  /** The model; else one asking for Oslo's weather as `call_0`, then answering with the label. */
  model?: ReturnType<typeof scriptedModel>;
  /** An app's own middleware, run before Chorus's. */
  before?: LanguageModelMiddleware;
  /** What `prepareStep` may replace the messages of a step with. */
  prepareStep?: (step: {
    stepNumber: number;
    messages: ModelMessage[];
  }) => { messages: ModelMessage[] } | undefined;
}

/** A tool that waits: `started` once it runs, answering only after `release()`. */
function gated(): Pick<RunOptions, "gate" | "onToolStart"> & {
  started: Promise<void>;
  release: () => void;
} {
  let release = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let onToolStart = () => {};
  const started = new Promise<void>((resolve) => {
    onToolStart = resolve;
  });
  return { gate, release, started, onToolStart };
}

/** One run asking the `weather` tool for Oslo as `call_0`; its tool answers with the run's label. */
function run(middleware: LanguageModelMiddleware, label: string, options: RunOptions) {
  return generateText({
    model: wrapLanguageModel({
      model:
        options.model ??
        scriptedModel([{ weatherIn: "Oslo", callId: "call_0" }, { text: `answer ${label}` }]),
      middleware: options.before === undefined ? middleware : [options.before, middleware],
    }),
    prepareStep: options.prepareStep,
    tools: { weather: labelledWeather(label, options) },
    stopWhen: stepCountIs(options.abandon ? 1 : 3),
    prompt: options.prompt,
  });
}

function labelledWeather(label: string, options: Pick<RunOptions, "gate" | "onToolStart">) {
  return tool({
    inputSchema: jsonSchema<{ city: string }>({
      type: "object",
      properties: { city: { type: "string" } },
      required: ["city"],
    }),
    execute: async ({ city }) => {
      options.onToolStart?.();
      await options.gate;
      return { city, run: label };
    },
  });
}

/** The run a trace belongs to: the label in its final answer, else in its tool's result. */
function labelOf(trace: readonly ChorusEvent[]): string | undefined {
  const message = trace.find((e) => e.type === "agent.message");
  if (message !== undefined) return String(message.payload.text).replace("answer ", "");
  return undefined;
}

/** A finished run's trace: its whole loop, its own tool result, the end on the start's span. */
function expectOwnLoop(trace: readonly ChorusEvent[], label: string): void {
  expect(types(trace), label).toEqual(TOOL_LOOP);
  const start = trace.find((e) => e.type === "tool.start");
  const end = trace.find((e) => e.type === "tool.end");
  expect(start?.payload).toMatchObject({ callId: "call_0", arguments: { city: "Oslo" } });
  expect(end?.payload, label).toMatchObject({ callId: "call_0", result: { run: label } });
  expect(end?.spanId, label).toBe(start?.spanId);
  expect(labelOf(trace)).toBe(label);
}

/** An abandoned run's trace: its one step and the tool call it asked for, never answered. */
function expectAbandoned(trace: readonly ChorusEvent[]): void {
  expect(types(trace)).toEqual(["llm.start", "llm.end", "tool.start"]);
}

describe("providers that reuse tool call ids (call_0 in every run)", () => {
  it("a run abandoned at its tool call does not capture the results of later runs asking alike", async () => {
    const { middleware, traces } = setup();
    // The run stops after its tool ran: the result is never sent back, the call stays pending.
    await run(middleware, "first", { prompt: "Weather in Oslo?", abandon: true });
    // Later runs ask the same tool with the same id and arguments: another question, then the
    // very question the abandoned run asked (an app retrying it).
    await run(middleware, "second", { prompt: "Is it warm in Oslo?" });
    await run(middleware, "third", { prompt: "Weather in Oslo?" });
    await run(middleware, "fourth", { prompt: "Is it warm in Oslo?" });

    const [first, second, third, fourth, ...rest] = await traces();
    expect(rest).toEqual([]);
    expectAbandoned(first as ChorusEvent[]);
    expectOwnLoop(second as ChorusEvent[], "second");
    expectOwnLoop(third as ChorusEvent[], "third");
    expectOwnLoop(fourth as ChorusEvent[], "fourth");
  });

  it("a streamed run the app abandons mid-loop does not capture a later streamed run's result", async () => {
    const { middleware, traces } = setup();
    const stream = (label: string, abandon: boolean) => {
      const abort = new AbortController();
      const result = streamText({
        model: wrapLanguageModel({
          model: scriptedModel([
            { weatherIn: "Oslo", callId: "call_0" },
            { text: `answer ${label}` },
          ]),
          middleware,
        }),
        tools: {
          // The app gives up while the tool runs (a closed request, a timeout).
          weather: labelledWeather(label, { onToolStart: () => abandon && abort.abort() }),
        },
        stopWhen: stepCountIs(3),
        prompt: "Weather in Oslo?",
        abortSignal: abort.signal,
      });
      return Promise.resolve(result.consumeStream({ onError: () => {} })).then(
        async () => await result.steps,
      );
    };
    // The abandoned run's steps reject with the abort; that is the app's business.
    await stream("first", true).catch(() => undefined);
    const steps = await stream("second", false);
    expect(steps).toHaveLength(2);

    const [first, second, ...rest] = await traces();
    expect(rest).toEqual([]);
    expect(types(first as ChorusEvent[]).filter((t) => t.startsWith("tool."))).toEqual([
      "tool.start",
    ]);
    expectOwnLoop(second as ChorusEvent[], "second");
  });

  it.each([
    // Asked differently (the prompts tell the runs apart).
    ["Weather in Oslo for Ana?", "Weather in Oslo for Ben?"],
    // The very same question: the one that asked last and answers first keeps its own.
    ["Weather in Oslo?", "Weather in Oslo?"],
  ])(
    "two live runs with the same call id and arguments each keep their own tool events (%s / %s)",
    async (slowPrompt, fastPrompt) => {
      const { middleware, traces } = setup();
      // The first run's tool is slow: the second run asks after it and finishes before it.
      const tool = gated();
      const slow = run(middleware, "slow", { prompt: slowPrompt, ...tool });
      await tool.started;
      await run(middleware, "fast", { prompt: fastPrompt });
      tool.release();
      await slow;

      const [slowTrace, fastTrace, ...rest] = await traces();
      expect(rest).toEqual([]);
      expectOwnLoop(slowTrace as ChorusEvent[], "slow");
      expectOwnLoop(fastTrace as ChorusEvent[], "fast");
    },
  );

  it("a retried step stays in its own run, even when a run that died asked the very same", async () => {
    const { middleware, traces } = setup();
    await run(middleware, "first", { prompt: "Weather in Oslo?", abandon: true });
    // The same question again; its second step is overloaded once and the SDK retries it.
    const script = scriptedModel([
      { weatherIn: "Oslo", callId: "call_0" },
      { text: "answer second" },
    ]);
    let calls = 0;
    const flaky = new MockLanguageModelV3({
      provider: "openai.chat",
      modelId: "gpt-test",
      doGenerate: async (options) => {
        if (++calls === 2) {
          throw new APICallError({
            message: "Overloaded",
            url: "https://api.example.test/v1/chat/completions",
            requestBodyValues: {},
            statusCode: 529,
            isRetryable: true,
          });
        }
        return script.doGenerate(options);
      },
    }) as ReturnType<typeof scriptedModel>;
    const result = await run(middleware, "second", { prompt: "Weather in Oslo?", model: flaky });
    expect(result.text).toBe("answer second");

    const [first, second, ...rest] = await traces();
    expect(rest).toEqual([]);
    expectAbandoned(first as ChorusEvent[]);
    expect(types(second as ChorusEvent[])).toEqual([
      "llm.start",
      "llm.end",
      "tool.start",
      "tool.end",
      "llm.start",
      "llm.error",
      "llm.start",
      "llm.end",
      "agent.message",
    ]);
    const end = (second as ChorusEvent[]).find((e) => e.type === "tool.end");
    expect(end?.payload).toMatchObject({ callId: "call_0", result: { run: "second" } });
  });

  it("an old result in a new conversation's history does not close another run's live call", async () => {
    const { middleware, traces } = setup();
    const tool = gated();
    const live = run(middleware, "live", { prompt: "Weather in Oslo?", ...tool });
    await tool.started;
    // Meanwhile another chat goes on: its history holds a `call_0` of the same tool and arguments
    // that this middleware never saw answered, and it ends with the user's new question.
    await generateText({
      model: wrapLanguageModel({ model: scriptedModel([{ text: "answer chat" }]), middleware }),
      messages: [
        { role: "user", content: "Weather in Oslo yesterday?" },
        {
          role: "assistant",
          content: [
            {
              type: "tool-call",
              toolCallId: "call_0",
              toolName: "weather",
              input: { city: "Oslo" },
            },
          ],
        },
        {
          role: "tool",
          content: [
            {
              type: "tool-result",
              toolCallId: "call_0",
              toolName: "weather",
              output: { type: "json", value: { city: "Oslo", run: "yesterday" } },
            },
          ],
        },
        { role: "assistant", content: "It was 21 degrees." },
        { role: "user", content: "Thanks. And tomorrow?" },
      ],
    });
    tool.release();
    await live;

    const [liveTrace, chat, ...rest] = await traces();
    expect(rest).toEqual([]);
    expectOwnLoop(liveTrace as ChorusEvent[], "live");
    expect(types(chat as ChorusEvent[])).toEqual(["llm.start", "llm.end", "agent.message"]);
  });

  it("history rewritten between steps (prepareStep): the run still gets its own result, not a dead run's", async () => {
    const { middleware, traces } = setup();
    await run(middleware, "first", { prompt: "Weather in Oslo?", abandon: true });
    // The app rewrites the history of later steps (a summary in place of the question), so no
    // prompt repeats the one the tool call was asked with.
    const result = await run(middleware, "second", {
      prompt: "Weather in Oslo?",
      prepareStep: ({ messages, stepNumber }) =>
        stepNumber === 0
          ? undefined
          : {
              messages: [
                { role: "user" as const, content: "The user asked about Oslo." },
                ...messages.slice(1),
              ],
            },
    });
    expect(result.text).toBe("answer second");

    const [first, second, ...rest] = await traces();
    expect(rest).toEqual([]);
    expectAbandoned(first as ChorusEvent[]);
    expectOwnLoop(second as ChorusEvent[], "second");
  });

  it("provider hints a middleware moves between steps (cache control) do not part a conversation", async () => {
    const { middleware, traces } = setup();
    // As a prompt-caching middleware does: mark the last message of every call.
    const cacheLast: LanguageModelMiddleware = {
      specificationVersion: "v3",
      transformParams: async ({ params }) => ({
        ...params,
        prompt: params.prompt.map((message, i) =>
          i === params.prompt.length - 1
            ? {
                ...message,
                providerOptions: { anthropic: { cacheControl: { type: "ephemeral" } } },
              }
            : message,
        ),
      }),
    };
    // Three live runs, alike but for the question; the middle one's tool answers first.
    const tools = { a: gated(), b: gated(), c: gated() };
    const runs: Record<string, Promise<unknown>> = {};
    for (const [label, tool] of Object.entries(tools)) {
      runs[label] = run(middleware, label, {
        prompt: `Weather in Oslo for ${label}?`,
        before: cacheLast,
        ...tool,
      });
      await tool.started;
    }
    tools.b.release();
    await runs.b;
    tools.a.release();
    tools.c.release();
    await Promise.all(Object.values(runs));

    const [a, b, c, ...rest] = await traces();
    expect(rest).toEqual([]);
    expectOwnLoop(a as ChorusEvent[], "a");
    expectOwnLoop(b as ChorusEvent[], "b");
    expectOwnLoop(c as ChorusEvent[], "c");
  });
});
