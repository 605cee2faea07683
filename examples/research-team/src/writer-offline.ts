/*
 * Offline stand-in for the Messages API, handed to the Anthropic SDK as its `fetch`: the first
 * turn asks for the citation tool with the note titles found in the prompt, the second writes
 * the answer from the findings and the tool's result. The SDK, and so the instrumentation,
 * run exactly as against the real API.
 */

interface Block {
  type: string;
  text?: string;
  content?: unknown;
  [key: string]: unknown;
}
interface Body {
  model: string;
  messages: { role: string; content: string | Block[] }[];
}

const textOf = (content: string | Block[]): string =>
  typeof content === "string"
    ? content
    : content.map((b) => (typeof b.text === "string" ? b.text : "")).join("");

export function offlineMessagesApi(): typeof fetch {
  let turn = 0;
  return async (_url, init) => {
    turn++;
    const body = JSON.parse(String(init?.body ?? "{}")) as Body;
    const prompt = textOf(body.messages[0]?.content ?? "");
    const last = body.messages.at(-1)?.content;
    const result = Array.isArray(last) ? last.find((b) => b.type === "tool_result") : undefined;
    const findings = prompt.split("Findings:\n")[1] ?? "";
    const titles = findings
      .split("\n")
      .map((line) => line.split(":")[0]?.trim())
      .filter(Boolean);
    const content: Block[] = result
      ? [
          {
            type: "text",
            text: `Without a central orchestrator, agents coordinate through a shared, versioned state that each one reads and updates with optimistic concurrency, and they react to each other's changes through a resumable event stream, so nothing is missed or done twice. Sources: ${String(result.content)}.`,
          },
        ]
      : [
          {
            type: "tool_use",
            id: `toolu_cite_${turn}`,
            name: "format_citations",
            input: { titles },
          },
        ];
    const message = {
      id: `msg_offline_${turn}`,
      type: "message",
      role: "assistant",
      model: body.model,
      content,
      stop_reason: result ? "end_turn" : "tool_use",
      stop_sequence: null,
      usage: {
        input_tokens: 300 + turn * 120,
        output_tokens: result ? 71 : 38,
        cache_read_input_tokens: 0,
        cache_creation_input_tokens: 0,
      },
    };
    return new Response(JSON.stringify(message), {
      status: 200,
      headers: { "content-type": "application/json", "request-id": `req_offline_${turn}` },
    });
  };
}
