import type Anthropic from "@anthropic-ai/sdk";
import type { Scripted } from "./fake-api.js";
import { errorBody, message, type SseEvent, sseEvents, text, toolUse } from "./messages.js";

/**
 * One user-visible run of the SDK, reduced to what the caller can observe: the value, or the
 * error's class and message. Chaos tests run each scenario on a plain and on a wrapped client
 * and require the same outcome.
 */
export type Outcome =
  | { ok: unknown }
  | { error: { name: string; message: string; status?: unknown } };

export async function outcome(run: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { ok: JSON.parse(JSON.stringify(await run())) };
  } catch (error) {
    const e = error as {
      name?: string;
      message?: string;
      status?: unknown;
      constructor?: { name?: string };
    };
    return {
      error: {
        name: e.constructor?.name ?? String(e.name),
        message: String(e.message),
        status: e.status,
      },
    };
  }
}

const ask = {
  model: "claude-test-1",
  max_tokens: 64,
  messages: [{ role: "user" as const, content: "Hi" }],
};
const tools = [{ name: "lookup", input_schema: { type: "object" as const } }];

export interface Scenario {
  name: string;
  /** What the fake API answers in one run of `run` (built once, served to both clients). */
  answers(): Scripted[];
  run(client: Anthropic): Promise<unknown>;
}

async function drain(stream: AsyncIterable<unknown>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const event of stream) out.push(event);
  return out;
}

const hostileSse: SseEvent[] = [
  { event: "message_start", data: { type: "message_start" } },
  {
    event: "content_block_start",
    data: { type: "content_block_start", index: 1e9, content_block: null },
  },
  {
    event: "content_block_delta",
    data: {
      type: "content_block_delta",
      index: -1,
      delta: { type: "input_json_delta", partial_json: "{not json" },
    },
  },
  {
    event: "content_block_delta",
    data: { type: "content_block_delta", index: 0, delta: "nonsense" },
  },
  { event: "surprise", data: { type: "surprise", payload: [1, 2, 3] } },
  {
    event: "message_delta",
    data: { type: "message_delta", delta: null, usage: { output_tokens: "many" } },
  },
  { event: "message_stop", data: { type: "message_stop" } },
];

export const scenarios: Scenario[] = [
  {
    name: "plain create",
    answers: () => [{ kind: "json", body: message([text("hello")]) }],
    run: (c) => c.messages.create(ask),
  },
  {
    name: "create with withResponse()",
    answers: () => [{ kind: "json", body: message([text("hello")]) }],
    run: async (c) => (await c.messages.create(ask).withResponse()).data,
  },
  {
    name: "create with stream: true",
    answers: () => [{ kind: "sse", events: sseEvents(message([text("streamed")])) }],
    run: async (c) => drain(await c.messages.create({ ...ask, stream: true })),
  },
  {
    name: "messages.stream finalMessage",
    answers: () => [
      {
        kind: "sse",
        events: sseEvents(message([text("helper"), toolUse("toolu_x", "lookup", { q: 1 })])),
      },
    ],
    run: (c) => c.messages.stream({ ...ask, tools }).finalMessage(),
  },
  {
    name: "tool loop",
    answers: () => [
      { kind: "json", body: message([toolUse("toolu_chaos", "lookup", { q: "x" })]) },
      { kind: "json", body: message([text("done")]) },
    ],
    run: async (c) => {
      const first = await c.messages.create({ ...ask, tools });
      return c.messages.create({
        ...ask,
        tools,
        messages: [
          ...ask.messages,
          { role: "assistant", content: first.content },
          {
            role: "user",
            content: [{ type: "tool_result", tool_use_id: "toolu_chaos", content: "found" }],
          },
        ],
      });
    },
  },
  {
    name: "rate limited",
    answers: () => [
      {
        kind: "json",
        status: 429,
        body: errorBody("rate_limit_error", "slow down"),
        // The SDK puts the request id in the error's message (1.17): the same on both runs.
        headers: { "request-id": "req_rate_limited" },
      },
    ],
    run: (c) => c.messages.create(ask),
  },
  {
    name: "hostile JSON response",
    answers: () => [
      {
        kind: "json",
        body: {
          id: 7,
          type: "message",
          content: "not a list",
          usage: { input_tokens: -5, output_tokens: "x" },
          stop_reason: 42,
          model: null,
        },
      },
    ],
    run: (c) => c.messages.create(ask),
  },
  {
    name: "hostile stream",
    answers: () => [{ kind: "sse", events: hostileSse }],
    run: async (c) => drain(await c.messages.create({ ...ask, stream: true })),
  },
  {
    name: "hostile request payload (circular metadata)",
    answers: () => [],
    run: (c) => {
      const circular: Record<string, unknown> = { user_id: "u", big: 10n };
      circular.self = circular;
      return Promise.resolve().then(() =>
        c.messages.create({ ...ask, metadata: circular as never }),
      );
    },
  },
];

/** Requests whose params throw when read: the SDK throws, and so must the wrapped client, the same way. */
export function throwingParams(): typeof ask {
  return {
    model: "claude-test-1",
    max_tokens: 64,
    get messages(): never {
      throw new Error("hostile getter");
    },
  } as unknown as typeof ask;
}
