/*
 * A stand-in for OpenAI's Chat Completions API, passed to the SDK as its `fetch`, so the example
 * runs offline with the real SDK (and its real instrumentation): the first turn asks for the
 * weather tool, the next answers from the tool message the request carries.
 */

interface RequestBody {
  model: string;
  messages: { role: string; content?: string | null; tool_call_id?: string }[];
}

let turn = 0;

export async function scriptedFetch(
  _url: string | URL | Request,
  init?: RequestInit,
): Promise<Response> {
  const body = JSON.parse(String(init?.body ?? "{}")) as RequestBody;
  const toolResult = body.messages.findLast((m) => m.role === "tool");
  turn++;
  const message = toolResult
    ? {
        role: "assistant",
        content: `It is ${String(toolResult.content)} in Lisbon right now: a good afternoon for a walk.`,
        refusal: null,
      }
    : {
        role: "assistant",
        content: null,
        refusal: null,
        tool_calls: [
          {
            id: `call_offline_${turn}`,
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Lisbon","unit":"celsius"}' },
          },
        ],
      };
  const completion = {
    id: `chatcmpl-offline-${turn}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: `${body.model}-2025-04-14`,
    choices: [
      { index: 0, message, logprobs: null, finish_reason: toolResult ? "stop" : "tool_calls" },
    ],
    usage: {
      prompt_tokens: 80 + turn * 30,
      completion_tokens: toolResult ? 21 : 18,
      total_tokens: 80 + turn * 30 + (toolResult ? 21 : 18),
      prompt_tokens_details: { cached_tokens: 0 },
    },
  };
  return new Response(JSON.stringify(completion), {
    status: 200,
    headers: { "content-type": "application/json", "x-request-id": `req_offline_${turn}` },
  });
}
