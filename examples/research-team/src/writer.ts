import Anthropic from "@anthropic-ai/sdk";
import type {
  MessageParam,
  Tool,
  ToolResultBlockParam,
} from "@anthropic-ai/sdk/resources/messages";
import { agent, type HandlerContext, onStateChange } from "@chorus/agents";
import { wrapAnthropic } from "@chorus/anthropic";
import type { Chorus, Intent } from "@chorus/core";
import { offlineMessagesApi } from "./writer-offline.js";

/*
 * The writer, on the Anthropic SDK with one tool. It starts when findings appear in the
 * intent's state, writes the answer with citations, and completes the intent.
 */

const live = Boolean(process.env.ANTHROPIC_API_KEY);
const model = process.env.ANTHROPIC_MODEL || "claude-haiku-4-5";

const tools: Tool[] = [
  {
    name: "format_citations",
    description: "Format note titles as numbered citations.",
    input_schema: {
      type: "object",
      properties: { titles: { type: "array", items: { type: "string" } } },
      required: ["titles"],
    },
  },
];

function formatCitations(input: { titles?: unknown }): string {
  const titles = Array.isArray(input.titles) ? input.titles.map(String) : [];
  return titles.map((t, i) => `[${i + 1}] ${t}`).join("; ") || "none";
}

@agent("writer")
export class Writer {
  readonly #client: Anthropic;

  constructor(chorus: Chorus) {
    const sdk = live
      ? new Anthropic()
      : new Anthropic({ apiKey: "offline", fetch: offlineMessagesApi() });
    this.#client = wrapAnthropic(sdk, { chorus });
  }

  @onStateChange({ keys: ["findings"] })
  async write(intent: Intent, _old: unknown, state: Record<string, unknown>, ctx: HandlerContext) {
    const messages: MessageParam[] = [
      {
        role: "user",
        content: `Answer the question in three sentences, citing the notes with format_citations.\nQuestion: ${String(state.question)}\nFindings:\n${String(state.findings)}`,
      },
    ];
    let answer = "";
    for (let turn = 0; turn < 4; turn++) {
      const reply = await this.#client.messages.create({ model, max_tokens: 600, tools, messages });
      messages.push({ role: "assistant", content: reply.content });
      answer = reply.content.map((b) => (b.type === "text" ? b.text : "")).join("");
      if (reply.stop_reason !== "tool_use") break;
      const results: ToolResultBlockParam[] = reply.content
        .filter((b) => b.type === "tool_use")
        .map((b) => ({
          type: "tool_result",
          tool_use_id: b.id,
          content: formatCitations(b.input as { titles?: unknown }),
        }));
      messages.push({ role: "user", content: results });
    }
    await ctx.complete(intent, { state: { answer } });
  }
}
