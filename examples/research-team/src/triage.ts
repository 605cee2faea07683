import { agent, type HandlerContext, onAssignment } from "@chorus/agents";
import type { Intent } from "@chorus/core";
import { instrument } from "@chorus/openai-agents";
import { Agent, handoff, type Model, Runner, Usage } from "@openai/agents";
import { assistantMessage, functionCall, ScriptedModel } from "@openai/agents-core/testing";

/*
 * The triage step, on the OpenAI Agents SDK: a triage agent hands the question to one of two
 * specialists, who writes the research brief. Offline, scripted models play both; with
 * OPENAI_API_KEY set, the same agents run on OpenAI.
 */

const online = Boolean(process.env.OPENAI_API_KEY);
const realModel = process.env.OPENAI_MODEL || "gpt-4.1-mini";
const usage = (input: number, output: number) =>
  new Usage({ requests: 1, inputTokens: input, outputTokens: output, totalTokens: input + output });

function specialist(name: string, topic: string, brief: string): Agent {
  return new Agent({
    name,
    instructions: `You scope research questions about ${topic}. Answer with a one-sentence research brief naming what to look up.`,
    handoffDescription: topic,
    model: online
      ? realModel
      : new ScriptedModel([{ output: [assistantMessage(brief)], usage: usage(140, 24) }]),
  });
}

@agent("triage")
export class Triage {
  readonly #runner = new Runner();

  constructor(chorus: HandlerContext["chorus"]) {
    // Chorus takes over the SDK's trace export offline (there is no key to export with).
    instrument({ chorus, hooks: this.#runner, exclusive: !online });
  }

  @onAssignment()
  async scope(intent: Intent) {
    const question = String(intent.state.question);
    // Built per question: offline, a scripted model plays one conversation and is used up.
    const toSystems = handoff(
      specialist(
        "Systems analyst",
        "distributed systems and coordination",
        "Look up how agents share state (versioned workspace, optimistic concurrency) and how they learn of changes (event streams).",
      ),
    );
    const toProduct = handoff(
      specialist(
        "Product analyst",
        "products, users and markets",
        "Look up what users of multi-agent products need to see: hand-offs, traces, tokens and failures.",
      ),
    );
    const systemsQuestion = /coordinat|state|protocol|system|agents/i.test(question);
    const triage = new Agent({
      name: "Triage",
      instructions: "Hand the question to the right specialist. Never answer yourself.",
      model: online
        ? realModel
        : (new ScriptedModel([
            {
              output: [
                functionCall(
                  (systemsQuestion ? toSystems : toProduct).toolName,
                  {},
                  { callId: "call_triage" },
                ),
              ],
              usage: usage(110, 8),
            },
          ]) as Model),
      handoffs: [toSystems, toProduct],
    });
    const result = await this.#runner.run(triage, question);
    return { brief: String(result.finalOutput), track: result.lastAgent?.name ?? "unknown" };
  }
}
