import { agent, onStateChange } from "@chorus/agents";
import type { Chorus, Intent } from "@chorus/core";
import { ChorusCallbackHandler } from "@chorus/langchain";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { AIMessage } from "@langchain/core/messages";
import { fakeModel } from "@langchain/core/testing";
import { createAgent, tool } from "langchain";
import { z } from "zod";
import { searchNotes } from "./knowledge.js";

/*
 * The researcher, a LangChain v1 agent with a search tool. It starts when the triage brief
 * appears in the intent's state and writes its findings back. Offline, fakeModel plays the
 * two turns a model would take; with ANTHROPIC_API_KEY set, Claude does the research.
 */

const searchTool = tool(async ({ query }) => JSON.stringify(searchNotes(query)), {
  name: "search_notes",
  description: "Search the team's research notes. Returns the best matching notes as JSON.",
  schema: z.object({ query: z.string().describe("What to look for") }),
});

async function model(brief: string): Promise<BaseChatModel> {
  if (process.env.ANTHROPIC_API_KEY) {
    const { ChatAnthropic } = await import("@langchain/anthropic");
    return new ChatAnthropic({
      model: process.env.ANTHROPIC_MODEL || "claude-haiku-4-5",
      temperature: 0,
      // As many retries as the Anthropic SDK makes: LangChain's default of 6 takes minutes to give up.
      maxRetries: 2,
    });
  }
  const notes = searchNotes(brief);
  return fakeModel()
    .respondWithTools([{ name: "search_notes", args: { query: brief }, id: "call_search_1" }])
    .respond(
      new AIMessage({
        content: notes.map((n) => `${n.title}: ${n.text}`).join("\n"),
        usage_metadata: { input_tokens: 412, output_tokens: 96, total_tokens: 508 },
        response_metadata: { model_name: "fake-model", finish_reason: "stop" },
      }),
    );
}

@agent("researcher")
export class Researcher {
  readonly #handler: ChorusCallbackHandler;

  constructor(chorus: Chorus) {
    this.#handler = new ChorusCallbackHandler({ chorus });
  }

  @onStateChange({ keys: ["brief"] })
  async research(intent: Intent, _old: unknown, state: Record<string, unknown>) {
    const brief = String(state.brief);
    const researcher = createAgent({
      model: await model(brief),
      tools: [searchTool],
      name: "researcher",
      systemPrompt:
        "Research the brief with search_notes, then summarise the findings in a few lines.",
    });
    const result = await researcher.invoke(
      {
        messages: [
          { role: "user", content: `Question: ${String(state.question)}\nBrief: ${brief}` },
        ],
      },
      { callbacks: [this.#handler], configurable: { thread_id: intent.id } },
    );
    return { findings: result.messages.at(-1)?.text ?? "" };
  }
}
