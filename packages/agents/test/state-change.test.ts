import type { Chorus, Intent } from "@chorus/core";
import type { Hub } from "@chorus/hub";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { agent, type HandlerContext, type IntentState, onStateChange } from "../src/index.js";
import { cleanUp, client, createIntent, start, startHub, waitFor } from "./helpers.js";

interface Call {
  intentId: string;
  old: IntentState;
  new: IntentState;
  version: number;
  seq: number | undefined;
}

@agent("watcher")
class Watcher {
  readonly question: Call[] = [];
  readonly every: Call[] = [];

  @onStateChange({ keys: ["question"] })
  onQuestion(intent: Intent, oldState: IntentState, newState: IntentState, ctx: HandlerContext) {
    this.question.push({
      intentId: intent.id,
      old: oldState,
      new: newState,
      version: intent.version,
      seq: ctx.event?.seq,
    });
  }

  @onStateChange()
  onAnything(intent: Intent, oldState: IntentState, newState: IntentState, ctx: HandlerContext) {
    this.every.push({
      intentId: intent.id,
      old: oldState,
      new: newState,
      version: intent.version,
      seq: ctx.event?.seq,
    });
  }
}

describe("onStateChange", () => {
  let hub: Hub;
  let chorus: Chorus;
  beforeAll(async () => {
    hub = await startHub();
    chorus = client(hub);
  });
  afterEach(() =>
    cleanUp().then(() => {
      chorus = client(hub);
    }),
  );
  afterAll(() => hub.close());

  it("fires on a real change of a listed key, not on other keys, not on rewriting the same value", async () => {
    const watcher = new Watcher();
    await start(watcher, { chorus });
    const intent = await createIntent(chorus, ["watcher"], {
      question: "a",
      other: 1,
      nested: { x: [1] },
    });

    await chorus.intents.patchState(intent.id, { other: 2 }); // another key
    await chorus.intents.patchState(intent.id, { question: "a" }); // same value
    await chorus.intents.patchState(intent.id, { nested: { x: [1] } }); // same deep value
    await chorus.intents.patchState(intent.id, { question: "b" }); // a real change
    await chorus.intents.patchState(intent.id, { question: null }); // a deletion is a change too
    await waitFor(() => watcher.question.length >= 2, "two question changes");

    expect(watcher.question.map((c) => [c.old, c.new])).toEqual([
      [
        { question: "a", other: 2, nested: { x: [1] } },
        { question: "b", other: 2, nested: { x: [1] } },
      ],
      [
        { question: "b", other: 2, nested: { x: [1] } },
        { other: 2, nested: { x: [1] } },
      ],
    ]);
    expect(watcher.question.map((c) => c.version)).toEqual([5, 6]);
    // Without keys: every real change, and still never a rewrite of the same values.
    await waitFor(() => watcher.every.length >= 3, "three changes");
    expect(watcher.every.map((c) => c.new)).toEqual([
      { question: "a", other: 2, nested: { x: [1] } },
      { question: "b", other: 2, nested: { x: [1] } },
      { other: 2, nested: { x: [1] } },
    ]);
  });

  it("hands the true old state on the first change after start (intent changed before the runner existed)", async () => {
    const intent = await createIntent(chorus, ["watcher"], { question: "a" });
    await chorus.intents.patchState(intent.id, { question: "b" });
    const watcher = new Watcher();
    await start(watcher, { chorus });
    await chorus.intents.patchState(intent.id, { question: "c" });
    await waitFor(() => watcher.question.length >= 1, "the change");
    expect(watcher.question[0]).toMatchObject({
      old: { question: "b" },
      new: { question: "c" },
      version: 3,
    });
  });

  it("derives the old state from the log when resuming with `after` (no cache)", async () => {
    const first = new Watcher();
    const running = await start(first, { chorus });
    const intent = await createIntent(chorus, ["watcher"], { question: "a", n: 0 });
    await chorus.intents.patchState(intent.id, { question: "b" });
    await waitFor(() => first.question.length === 1, "first change");
    await running.stop();
    const resumeAt = running.lastSeq;
    expect(resumeAt).toBeTypeOf("number");

    // While no runner is running: other keys and the watched one change.
    await chorus.intents.patchState(intent.id, { n: 1 });
    await chorus.intents.patchState(intent.id, { question: "c" });
    await chorus.intents.patchState(intent.id, { n: 2, question: "d" });

    const second = new Watcher();
    await start(second, { chorus, after: resumeAt });
    await waitFor(() => second.question.length >= 2, "changes made while stopped");
    expect(second.question.map((c) => [c.old, c.new])).toEqual([
      [
        { question: "b", n: 1 },
        { question: "c", n: 1 },
      ],
      [
        { question: "c", n: 1 },
        { question: "d", n: 2 },
      ],
    ]);
    expect(second.every.map((c) => c.new.n)).toEqual([1, 1, 2]);
  });
});
