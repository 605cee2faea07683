import type { ChorusEvent, Intent } from "@chorus/core";
import type { Hub } from "@chorus/hub";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  agent,
  defineAgent,
  type HandlerContext,
  type IntentState,
  onAssignment,
  onEvent,
  onStateChange,
  onStatus,
  runAgent,
} from "../src/index.js";
import { cleanUp, client, startHub, waitFor } from "./helpers.js";

// The README's two snippets, as written there, against a real hub.
describe("README", () => {
  let hub: Hub;
  beforeAll(async () => {
    hub = await startHub();
  });
  afterEach(cleanUp);
  afterAll(() => hub.close());

  it("decorator form", async () => {
    const answered: unknown[] = [];
    @agent("researcher")
    class Researcher {
      @onAssignment()
      async start(_intent: Intent) {
        return { stage: "researching" };
      }

      @onStateChange({ keys: ["question"] })
      async research(
        intent: Intent,
        _oldState: IntentState,
        newState: IntentState,
        ctx: HandlerContext,
      ) {
        const answer = `notes on ${String(newState.question)}`;
        await ctx.complete(intent, { state: { answer } });
      }

      @onStatus("completed")
      async done(intent: Intent) {
        answered.push(intent.state.answer);
      }

      @onEvent("intent.comment")
      async comment(intent: Intent, event: ChorusEvent, ctx: HandlerContext) {
        if (event.agent !== ctx.agent) await ctx.comment(intent, "noted");
      }
    }

    const chorus = client(hub);
    const running = await runAgent(new Researcher(), { chorus, logger: false });
    const intent = await chorus.intents.create({ title: "Sky", assignees: ["researcher"] });
    await chorus.intents.comment(intent!.id, "hello", { agent: "planner" });
    await chorus.intents.patchState(intent!.id, { question: "why is the sky blue?" });
    await waitFor(() => answered.length === 1, "the answer");
    await running.stop();

    expect(answered).toEqual(["notes on why is the sky blue?"]);
    const final = await chorus.intents.get(intent!.id);
    expect(final).toMatchObject({
      status: "completed",
      state: {
        stage: "researching",
        question: "why is the sky blue?",
        answer: "notes on why is the sky blue?",
      },
    });
    const comments = (await chorus.intents.events(intent!.id, { type: "intent.comment" })).data;
    expect(comments.map((c) => [c.agent, c.payload.text])).toEqual([
      ["planner", "hello"],
      ["researcher", "noted"],
    ]);
  });

  it("defineAgent form", async () => {
    const answered: unknown[] = [];
    const researcher = defineAgent({
      id: "researcher",
      handlers: {
        onAssignment: async () => ({ stage: "researching" }),
        onStateChange: [
          {
            keys: ["question"],
            handler: async (intent, _oldState, newState, ctx) => {
              await ctx.complete(intent, {
                state: { answer: `notes on ${String(newState.question)}` },
              });
            },
          },
        ],
        onStatus: {
          status: "completed",
          handler: async (intent) => void answered.push(intent.state.answer),
        },
        onEvent: { type: "intent.comment", handler: async () => {} },
      },
    });
    const chorus = client(hub);
    const running = await runAgent(researcher, { chorus, logger: false });
    const intent = await chorus.intents.create({ title: "Sky", assignees: ["researcher"] });
    await chorus.intents.patchState(intent!.id, { question: "why is the sky blue?" });
    await waitFor(() => answered.length === 1, "the answer");
    await running.stop();
    expect(answered).toEqual(["notes on why is the sky blue?"]);
  });
});
