import { Chorus, type ChorusEvent, type EmitEvent } from "@chorus/core";
import { createHub, type Hub } from "@chorus/hub";
import { APICallError, jsonSchema, tool } from "ai";
import { convertArrayToReadableStream, MockLanguageModelV3 } from "ai/test";

/** One part of a model's stream, as the specification types it. */
type StreamPart =
  Awaited<ReturnType<MockLanguageModelV3["doStream"]>>["stream"] extends ReadableStream<infer P>
    ? P
    : never;

export const API_KEY = "key_acme_0123456789";

export interface TestHub {
  hub: Hub;
  chorus: Chorus;
  /** Flush, then every event on the channel (optionally of one trace), oldest first. */
  events(filter?: { traceId?: string }): Promise<ChorusEvent[]>;
  close(): Promise<void>;
}

export async function startTestHub(channel = "ai-sdk"): Promise<TestHub> {
  const hub = await createHub({
    port: 0,
    mqttPort: 0,
    db: ":memory:",
    logger: false,
    apiKeys: `acme:${API_KEY}`,
  });
  const chorus = new Chorus({
    url: hub.url,
    apiKey: API_KEY,
    channel,
    flushIntervalMs: 10,
    logger: false,
  });
  return {
    hub,
    chorus,
    async events(filter = {}) {
      await chorus.flush(5_000);
      const page = await chorus.events.list({ channel, traceId: filter.traceId, limit: 1000 });
      return page.data;
    },
    async close() {
      await chorus.close(2_000);
      await hub.close();
    },
  };
}

/** A stand-in client that keeps what the adapter emits, before the client's capture and validation. */
export function recordingSink(): Chorus & { events: EmitEvent[] } {
  const events: EmitEvent[] = [];
  return { events, emit: (event: EmitEvent) => void events.push(event) } as unknown as Chorus & {
    events: EmitEvent[];
  };
}

/** The events of a two-step tool loop (a tool call, then the answer), in order. */
export const TOOL_LOOP = [
  "llm.start",
  "llm.end",
  "tool.start",
  "tool.end",
  "llm.start",
  "llm.end",
  "agent.message",
];

export const types = (events: readonly { type: string }[]): string[] => events.map((e) => e.type);

export function only<E extends { type: string }>(events: readonly E[], type: string): E {
  const found = events.filter((e) => e.type === type);
  if (found.length !== 1)
    throw new Error(`expected one ${type}, got ${found.length}: ${types(events).join(", ")}`);
  return found[0] as E;
}

const usage = (input: number, output: number) => ({
  inputTokens: { total: input, noCache: input - 2, cacheRead: 2, cacheWrite: undefined },
  outputTokens: { total: output, text: output, reasoning: undefined },
});
const stop = { unified: "stop", raw: "stop" } as const;
const toolCalls = { unified: "tool-calls", raw: "tool_calls" } as const;

/** What a scripted model answers, step by step: text, or a call of the `weather` tool. */
export type Step = { text: string } | { weatherIn: string; callId: string };

/** A model (the SDK's own mock) answering `steps` in turn, through doGenerate or doStream. */
export function scriptedModel(steps: readonly Step[], options: { chunked?: boolean } = {}) {
  let next = 0;
  const take = (): Step => {
    const step = steps[Math.min(next, steps.length - 1)] as Step;
    next++;
    return step;
  };
  return new MockLanguageModelV3({
    provider: "openai.chat",
    modelId: "gpt-test",
    doGenerate: async () => {
      const step = take();
      return {
        content:
          "text" in step
            ? [{ type: "text", text: step.text }]
            : [
                {
                  type: "tool-call",
                  toolCallId: step.callId,
                  toolName: "weather",
                  input: JSON.stringify({ city: step.weatherIn }),
                },
              ],
        finishReason: "text" in step ? stop : toolCalls,
        usage: usage(10, 5),
        warnings: [],
        response: { id: `resp-${next}`, modelId: "gpt-test-2026", timestamp: new Date(0) },
      };
    },
    doStream: async () => {
      const step = take();
      const words = "text" in step ? step.text.split(/(?<= )/) : [];
      const parts: StreamPart[] =
        "text" in step
          ? [
              { type: "stream-start" as const, warnings: [] },
              {
                type: "response-metadata" as const,
                id: `resp-${next}`,
                modelId: "gpt-test-2026",
                timestamp: new Date(0),
              },
              { type: "text-start" as const, id: "t1" },
              ...(options.chunked === false
                ? [{ type: "text-delta" as const, id: "t1", delta: step.text }]
                : words.map((delta) => ({ type: "text-delta" as const, id: "t1", delta }))),
              { type: "text-end" as const, id: "t1" },
              { type: "finish" as const, finishReason: stop, usage: usage(10, 5) },
            ]
          : [
              { type: "stream-start" as const, warnings: [] },
              {
                type: "response-metadata" as const,
                id: `resp-${next}`,
                modelId: "gpt-test-2026",
                timestamp: new Date(0),
              },
              {
                type: "tool-call" as const,
                toolCallId: step.callId,
                toolName: "weather",
                input: JSON.stringify({ city: step.weatherIn }),
              },
              { type: "finish" as const, finishReason: toolCalls, usage: usage(10, 5) },
            ];
      return { stream: convertArrayToReadableStream(parts) };
    },
  });
}

/** The `weather` tool the scripted model calls; `failFor` names a city whose lookup throws. */
export function weatherTool(failFor?: string) {
  return tool({
    description: "Current weather in a city",
    inputSchema: jsonSchema<{ city: string }>({
      type: "object",
      properties: { city: { type: "string" } },
      required: ["city"],
    }),
    execute: async ({ city }) => {
      if (city === failFor) throw new Error(`no station in ${city}`);
      return { city, celsius: 21 };
    },
  });
}

/** A model whose every call fails as a provider's HTTP 500 does. */
export function failingModel() {
  const fail = async (): Promise<never> => {
    throw new APICallError({
      message: "Internal Server Error",
      url: "https://api.example.test/v1/chat/completions",
      requestBodyValues: {},
      statusCode: 500,
      responseBody: JSON.stringify({ error: { message: "boom", type: "server_error" } }),
      isRetryable: true,
    });
  };
  return new MockLanguageModelV3({
    provider: "openai.chat",
    modelId: "gpt-test",
    doGenerate: fail,
    doStream: fail,
  });
}
