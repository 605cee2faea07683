/*
 * A stand-in for the Messages API, passed to the SDK as its `fetch`, so the example runs offline
 * with the real SDK: the first turn asks for the weather tool, the next answers from whatever
 * tool_result the request carries. Streaming requests get server-sent events, like the API.
 */

interface Block {
  type: string;
  [key: string]: unknown;
}

interface RequestBody {
  model: string;
  stream?: boolean;
  messages: { role: string; content: string | Block[] }[];
}

let turn = 0;

export async function scriptedFetch(
  _url: string | URL | Request,
  init?: RequestInit,
): Promise<Response> {
  const body = JSON.parse(String(init?.body ?? "{}")) as RequestBody;
  const last = body.messages.at(-1);
  const toolResult = Array.isArray(last?.content)
    ? last.content.find((b) => b.type === "tool_result")
    : undefined;
  turn++;
  const content: Block[] = toolResult
    ? [
        {
          type: "text",
          text: `It is ${String(toolResult.content)} in Lisbon right now: a good afternoon for a walk.`,
        },
      ]
    : [
        { type: "text", text: "Let me look that up." },
        {
          type: "tool_use",
          id: `toolu_offline_${turn}`,
          name: "get_weather",
          input: { city: "Lisbon", unit: "celsius" },
        },
      ];
  const message = {
    id: `msg_offline_${turn}`,
    type: "message",
    role: "assistant",
    model: body.model,
    content,
    stop_reason: toolResult ? "end_turn" : "tool_use",
    stop_sequence: null,
    usage: {
      input_tokens: 180 + turn * 40,
      output_tokens: toolResult ? 24 : 41,
      cache_read_input_tokens: 0,
      cache_creation_input_tokens: 0,
    },
  };
  const headers = { "request-id": `req_offline_${turn}` };
  if (!body.stream) {
    return new Response(JSON.stringify(message), {
      status: 200,
      headers: { ...headers, "content-type": "application/json" },
    });
  }
  return new Response(sse(message), {
    status: 200,
    headers: { ...headers, "content-type": "text/event-stream" },
  });
}

/** The event stream the API sends for `message`: text in small deltas, tool input as JSON deltas. */
function sse(message: {
  content: Block[];
  stop_reason: string;
  usage: { output_tokens: number };
}): string {
  const events: [string, unknown][] = [
    [
      "message_start",
      {
        type: "message_start",
        message: {
          ...message,
          content: [],
          stop_reason: null,
          usage: { ...message.usage, output_tokens: 1 },
        },
      },
    ],
  ];
  message.content.forEach((block, index) => {
    if (block.type === "text") {
      events.push([
        "content_block_start",
        { type: "content_block_start", index, content_block: { type: "text", text: "" } },
      ]);
      for (const piece of String(block.text).match(/.{1,12}/gs) ?? []) {
        events.push([
          "content_block_delta",
          { type: "content_block_delta", index, delta: { type: "text_delta", text: piece } },
        ]);
      }
    } else {
      events.push([
        "content_block_start",
        { type: "content_block_start", index, content_block: { ...block, input: {} } },
      ]);
      events.push([
        "content_block_delta",
        {
          type: "content_block_delta",
          index,
          delta: { type: "input_json_delta", partial_json: JSON.stringify(block.input) },
        },
      ]);
    }
    events.push(["content_block_stop", { type: "content_block_stop", index }]);
  });
  events.push([
    "message_delta",
    {
      type: "message_delta",
      delta: { stop_reason: message.stop_reason, stop_sequence: null },
      usage: { output_tokens: message.usage.output_tokens },
    },
  ]);
  events.push(["message_stop", { type: "message_stop" }]);
  return events
    .map(([event, data]) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
    .join("");
}
