/*
 * Messages API bodies for the fake server: a response `Message`, and the server-sent events the
 * API streams for the same message (message_start with input usage, content blocks with text
 * and input_json deltas, message_delta with the stop reason and output usage, message_stop).
 */

export interface Usage {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
}

export type Block =
  | { type: "text"; text: string }
  | { type: "tool_use"; id: string; name: string; input: Record<string, unknown> };

export interface MessageBody {
  id: string;
  type: "message";
  role: "assistant";
  model: string;
  content: Block[];
  stop_reason: string;
  stop_sequence: null;
  usage: Usage;
}

let counter = 0;

export function message(
  content: Block[],
  options: { stop?: string; usage?: Partial<Usage>; model?: string } = {},
): MessageBody {
  counter++;
  return {
    id: `msg_${String(counter).padStart(4, "0")}`,
    type: "message",
    role: "assistant",
    model: options.model ?? "claude-test-1",
    content,
    stop_reason:
      options.stop ?? (content.some((b) => b.type === "tool_use") ? "tool_use" : "end_turn"),
    stop_sequence: null,
    usage: {
      input_tokens: 12,
      output_tokens: 7,
      cache_read_input_tokens: 0,
      cache_creation_input_tokens: 0,
      ...options.usage,
    },
  };
}

export const text = (t: string): Block => ({ type: "text", text: t });
export const toolUse = (id: string, name: string, input: Record<string, unknown>): Block => ({
  type: "tool_use",
  id,
  name,
  input,
});

export interface SseEvent {
  event: string;
  data: unknown;
}

/** The events the API streams for `body`; text and JSON are split into small deltas. */
export function sseEvents(body: MessageBody): SseEvent[] {
  const events: SseEvent[] = [];
  const { usage } = body;
  events.push({
    event: "message_start",
    data: {
      type: "message_start",
      message: {
        ...body,
        content: [],
        stop_reason: null,
        usage: { ...usage, output_tokens: 1 },
      },
    },
  });
  events.push({ event: "ping", data: { type: "ping" } });
  body.content.forEach((block, index) => {
    if (block.type === "text") {
      events.push({
        event: "content_block_start",
        data: { type: "content_block_start", index, content_block: { type: "text", text: "" } },
      });
      for (const piece of chunks(block.text, 5)) {
        events.push({
          event: "content_block_delta",
          data: { type: "content_block_delta", index, delta: { type: "text_delta", text: piece } },
        });
      }
    } else {
      events.push({
        event: "content_block_start",
        data: {
          type: "content_block_start",
          index,
          content_block: { type: "tool_use", id: block.id, name: block.name, input: {} },
        },
      });
      for (const piece of chunks(JSON.stringify(block.input), 4)) {
        events.push({
          event: "content_block_delta",
          data: {
            type: "content_block_delta",
            index,
            delta: { type: "input_json_delta", partial_json: piece },
          },
        });
      }
    }
    events.push({ event: "content_block_stop", data: { type: "content_block_stop", index } });
  });
  events.push({
    event: "message_delta",
    data: {
      type: "message_delta",
      delta: { stop_reason: body.stop_reason, stop_sequence: null },
      usage: { output_tokens: usage.output_tokens },
    },
  });
  events.push({ event: "message_stop", data: { type: "message_stop" } });
  return events;
}

function chunks(s: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.length; i += size) out.push(s.slice(i, i + size));
  return out.length > 0 ? out : [""];
}

export function errorBody(type: string, message: string): unknown {
  return { type: "error", error: { type, message } };
}
