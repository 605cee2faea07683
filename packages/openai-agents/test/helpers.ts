import { Chorus, type ChorusEvent, type ChorusOptions } from "@chorus/core";
import { createHub, type Hub } from "@chorus/hub";
import { Agent, Runner, tool, Usage } from "@openai/agents";
import { assistantMessage, functionCall, ScriptedModel } from "@openai/agents-core/testing";
import { z } from "zod";
import type { InstrumentHandle } from "../src/index.js";

export const KEY = "key_acme_0123456789";

/** The real hub, in process, on random ports. */
export function startHub(): Promise<Hub> {
  return createHub({ port: 0, mqttPort: 0, db: ":memory:", logger: false, apiKeys: `acme:${KEY}` });
}

const clients = new Set<Chorus>();
const handles = new Set<InstrumentHandle>();

/** A client with test-friendly timings, closed by {@link cleanup}. */
export function client(url: string, options: ChorusOptions = {}): Chorus {
  const chorus = new Chorus({
    url,
    apiKey: KEY,
    logger: false,
    drainOnExit: false,
    flushIntervalMs: 10,
    retryBaseDelayMs: 20,
    retryMaxDelayMs: 100,
    circuitCooldownMs: 100,
    timeoutMs: 2000,
    ...options,
  });
  clients.add(chorus);
  return chorus;
}

/** Remember a handle so {@link cleanup} uninstruments it: the SDK's processor list is process-wide. */
export function track(handle: InstrumentHandle): InstrumentHandle {
  handles.add(handle);
  return handle;
}

export async function cleanup(): Promise<void> {
  for (const handle of handles) await handle.shutdown(200);
  handles.clear();
  await Promise.all([...clients].map((c) => c.close(200)));
  clients.clear();
}

let channels = 0;
/** A channel of its own for each test, so events never mix. */
export function freshChannel(): string {
  channels += 1;
  return `oa-${process.pid}-${channels}`;
}

/** Every event on a channel, oldest first, after flushing the client. */
export async function readEvents(chorus: Chorus, channel: string): Promise<ChorusEvent[]> {
  await chorus.flush(5000);
  const all: ChorusEvent[] = [];
  let after: number | undefined;
  for (;;) {
    const page = await chorus.events.list({ channel, after, limit: 1000 });
    all.push(...page.data);
    if (page.next === undefined) return all;
    after = page.next;
  }
}

export const weatherUsage = () =>
  new Usage({
    requests: 1,
    inputTokens: 10,
    outputTokens: 5,
    totalTokens: 15,
    inputTokensDetails: [{ cached_tokens: 3 }],
    outputTokensDetails: [{ reasoning_tokens: 2 }],
  });

/**
 * The scenario the tests run: a triage agent hands off to a weather agent, which calls a tool
 * (zod parameters) and answers. Fresh models each time: a ScriptedModel consumes its script.
 */
export function weatherScenario(options: { toolResult?: (city: string) => unknown } = {}) {
  const calls: string[] = [];
  const getWeather = tool({
    name: "get_weather",
    description: "Current weather in a city",
    parameters: z.object({ city: z.string() }),
    execute: async ({ city }) => {
      calls.push(city);
      return options.toolResult ? options.toolResult(city) : `sunny in ${city}`;
    },
  });
  const weather = new Agent({
    name: "Weather",
    instructions: "Answer weather questions with the tool.",
    model: new ScriptedModel([
      {
        output: [functionCall("get_weather", { city: "Paris" }, { callId: "call_1" })],
        usage: weatherUsage(),
      },
      {
        output: [assistantMessage("It is sunny in Paris.")],
        usage: new Usage({ requests: 1, inputTokens: 20, outputTokens: 7, totalTokens: 27 }),
      },
    ]),
    tools: [getWeather],
  });
  const triage = new Agent({
    name: "Triage",
    instructions: "Hand weather questions to the weather agent.",
    model: new ScriptedModel([
      {
        output: [functionCall("transfer_to_Weather", {}, { callId: "call_h" })],
        usage: new Usage({ requests: 1, inputTokens: 4, outputTokens: 1, totalTokens: 5 }),
      },
    ]),
    handoffs: [weather],
  });
  return { triage, weather, calls, runner: new Runner() };
}

/** Events by type, in order. */
export function ofType(events: readonly ChorusEvent[], type: string): ChorusEvent[] {
  return events.filter((e) => e.type === type);
}

/** The one event of a type whose payload has this name. */
export function named(events: readonly ChorusEvent[], type: string, name: string): ChorusEvent {
  const found = events.find(
    (e) => e.type === type && (e.payload as { name?: unknown }).name === name,
  );
  if (!found)
    throw new Error(`no ${type} named ${name} in ${events.map((e) => e.type).join(", ")}`);
  return found;
}

/** What a run produced, comparable between an instrumented and a plain run. */
export function summarize(result: {
  finalOutput?: unknown;
  newItems: readonly { type: string; rawItem?: unknown }[];
  lastAgent?: { name: string } | undefined;
}): string {
  return JSON.stringify(
    {
      finalOutput: result.finalOutput,
      lastAgent: result.lastAgent?.name,
      items: result.newItems.map((i) => ({ type: i.type, raw: i.rawItem })),
    },
    (_key, value) => (typeof value === "bigint" ? `${value}n` : value),
  );
}

/** Run the weather scenario to the end, streamed or not, and summarize it (or its error). */
export async function runToSummary(
  stream: boolean,
  options: Parameters<typeof weatherScenario>[0] = {},
  prepare: (scenario: ReturnType<typeof weatherScenario>) => void = () => {},
): Promise<string> {
  const scenario = weatherScenario(options);
  prepare(scenario);
  try {
    if (!stream) return summarize(await scenario.runner.run(scenario.triage, "Weather in Paris?"));
    const result = await scenario.runner.run(scenario.triage, "Weather in Paris?", {
      stream: true,
    });
    for await (const _event of result) {
      // drain
    }
    await result.completed;
    return summarize(result);
  } catch (error) {
    return `error: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
  }
}
