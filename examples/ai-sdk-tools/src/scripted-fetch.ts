/*
 * A stand-in for OpenAI's Chat Completions API, passed to the provider as its `fetch`, so the
 * example runs offline with the real AI SDK and the real OpenAI provider: the first step asks
 * for the weather tool, the next answers from the tool result the request carries. Answers are
 * streamed as server-sent events, like the API.
 */

interface ChatMessage {
  role: string;
  content?: unknown;
  tool_call_id?: string;
}

let step = 0;

export async function scriptedFetch(
  _url: string | URL | Request,
  init?: RequestInit,
): Promise<Response> {
  const body = JSON.parse(String(init?.body ?? "{}")) as { model: string; messages: ChatMessage[] };
  const toolResult = body.messages.findLast((m) => m.role === "tool");
  step++;
  const base = {
    id: `chatcmpl-offline-${step}`,
    object: "chat.completion.chunk",
    created: 0,
    model: body.model,
  };
  const chunks: object[] = toolResult
    ? `It is ${describe(toolResult.content)} in Lisbon: a good afternoon for a walk.`
        .split(/(?<= )/)
        .map((content, i) => ({
          ...base,
          choices: [
            {
              index: 0,
              delta: i === 0 ? { role: "assistant", content } : { content },
              finish_reason: null,
            },
          ],
        }))
    : [
        {
          ...base,
          choices: [
            {
              index: 0,
              delta: {
                role: "assistant",
                content: null,
                tool_calls: [
                  {
                    index: 0,
                    id: `call_offline_${step}`,
                    type: "function",
                    function: { name: "weather", arguments: JSON.stringify({ city: "Lisbon" }) },
                  },
                ],
              },
              finish_reason: null,
            },
          ],
        },
      ];
  chunks.push({
    ...base,
    choices: [{ index: 0, delta: {}, finish_reason: toolResult ? "stop" : "tool_calls" }],
    usage: {
      prompt_tokens: 120 + step * 30,
      completion_tokens: toolResult ? 16 : 18,
      total_tokens: 0,
    },
  });
  const text = `${chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join("")}data: [DONE]\n\n`;
  return new Response(text, { status: 200, headers: { "content-type": "text/event-stream" } });
}

function describe(content: unknown): string {
  if (typeof content !== "string") return JSON.stringify(content);
  try {
    const value = JSON.parse(content) as { summary?: string };
    return value.summary ?? content;
  } catch {
    return content;
  }
}
