import { type Chorus, ConflictError, ConnectionError, type Intent } from "@chorus/core";
import type { Hub } from "@chorus/hub";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  agent,
  type HandlerContext,
  onEvent,
  onStateChange,
  patchIntent,
  writeKeys,
} from "../src/index.js";
import {
  cleanUp,
  client,
  createIntent,
  start,
  startHub,
  stateChangedEvents,
  waitFor,
} from "./helpers.js";

/** Counts the 409s a client's patchState calls get. */
function countConflicts(chorus: Chorus): { conflicts: number; attempts: number } {
  const counts = { conflicts: 0, attempts: 0 };
  const original = chorus.intents.patchState.bind(chorus.intents);
  chorus.intents.patchState = async (...args) => {
    counts.attempts++;
    try {
      return await original(...args);
    } catch (error) {
      if (error instanceof ConflictError) counts.conflicts++;
      throw error;
    }
  };
  return counts;
}

describe("writes: If-Match and re-apply on 409", () => {
  let hub: Hub;
  beforeAll(async () => {
    hub = await startHub();
  });
  afterEach(cleanUp);
  afterAll(() => hub.close());

  it("two agents racing on one key lose no update (updater functions are recomputed on 409)", async () => {
    const setup = client(hub);
    const ticks = 10;
    const chorusA = client(hub);
    const chorusB = client(hub);
    const a = countConflicts(chorusA);
    const b = countConflicts(chorusB);
    const handledB = new Set<number>();

    @agent("counter-a")
    class CounterA {
      // A reads the tick, then waits until B has written before writing itself: its If-Match
      // is then stale for certain, and only a re-read and re-apply keeps B's increment.
      @onEvent("intent.tick")
      async tick(_intent: Intent, event: { payload: Record<string, unknown> }) {
        await waitFor(() => handledB.has(event.payload.i as number), "B's write");
        return (state: Record<string, unknown>) => ({ count: Number(state.count ?? 0) + 1 });
      }
    }
    @agent("counter-b")
    class CounterB {
      @onEvent("intent.tick")
      async tick(
        _intent: Intent,
        event: { payload: Record<string, unknown> },
        ctx: HandlerContext,
      ) {
        await ctx.patch(_intent, (state) => ({ count: Number(state.count ?? 0) + 1 }));
        handledB.add(event.payload.i as number);
      }
    }
    const runA = await start(new CounterA(), { chorus: chorusA });
    const runB = await start(new CounterB(), { chorus: chorusB });
    const intent = await createIntent(setup, ["counter-a", "counter-b"], { count: 0 });
    for (let i = 0; i < ticks; i++)
      await setup.intents.post(intent.id, { type: "intent.tick", payload: { i } });

    await waitFor(
      async () => (await setup.intents.get(intent.id))?.state.count === 2 * ticks,
      "every increment",
    );
    expect(a.conflicts).toBeGreaterThanOrEqual(ticks);
    expect(runA.errors).toEqual([]);
    expect(runB.errors).toEqual([]);
    expect(b.attempts).toBeGreaterThanOrEqual(ticks);
  });

  it("a returned plain object is re-applied on the fresh version after a 409", async () => {
    const setup = client(hub);
    const chorus = client(hub);
    const counts = countConflicts(chorus);
    @agent("stamper")
    class Stamper {
      @onStateChange({ keys: ["go"] })
      async go(intent: Intent) {
        // Someone else writes while this handler works: the version it saw is stale.
        await setup.intents.patchState(intent.id, { other: "theirs" });
        return { mine: "stamped" };
      }
    }
    const running = await start(new Stamper(), { chorus });
    const intent = await createIntent(setup, ["stamper"]);
    await setup.intents.patchState(intent.id, { go: true });
    await waitFor(
      async () => (await setup.intents.get(intent.id))?.state.mine === "stamped",
      "the stamp",
    );
    expect((await setup.intents.get(intent.id))?.state).toEqual({
      go: true,
      other: "theirs",
      mine: "stamped",
    });
    expect(counts.conflicts).toBe(1);
    expect(running.errors).toEqual([]);
  });

  it("gives up after maxPatchAttempts and reports the conflict to onError", async () => {
    const setup = client(hub);
    const chorus = client(hub);
    const counts = countConflicts(chorus);
    // Every write of this client is preceded by a write of someone else: it can never win.
    const original = chorus.intents.patchState;
    chorus.intents.patchState = async (id, patch, options) => {
      await setup.intents.patchState(id, { noise: Math.random() });
      return original(id, patch, options);
    };
    @agent("loser")
    class Loser {
      @onStateChange({ keys: ["go"] })
      go() {
        return { mine: true };
      }
    }
    const running = await start(new Loser(), { chorus, maxPatchAttempts: 3 });
    const intent = await createIntent(setup, ["loser"]);
    await setup.intents.patchState(intent.id, { go: true });
    await waitFor(() => running.errors.length > 0, "the reported conflict");
    expect(counts.attempts).toBe(3);
    expect(running.errors[0]?.context).toMatchObject({
      phase: "patch",
      handler: "go",
      intentId: intent.id,
    });
    expect(running.errors[0]?.error).toBeInstanceOf(ConflictError);
    expect((await setup.intents.get(intent.id))?.state.mine).toBeUndefined();
  });

  it("patchIntent skips writes that would change nothing", async () => {
    const chorus = client(hub);
    const intent = await createIntent(chorus, [], { a: 1 });
    const same = await patchIntent(chorus, intent, { a: 1 });
    expect(same.version).toBe(1);
    const none = await patchIntent(chorus, intent, () => undefined);
    expect(none.version).toBe(1);
    const changed = await patchIntent(chorus, { id: intent.id }, (s) => ({ a: Number(s.a) + 1 }));
    expect(changed).toMatchObject({ version: 2, state: { a: 2 } });
  });

  it("a change sent again under the same writeKey (a resend after an outage) is not applied twice", async () => {
    const chorus = client(hub);
    const intent = await createIntent(chorus, [], { visits: 0 });
    const visit = (s: Record<string, unknown>) => ({ visits: Number(s.visits) + 1 });
    // The same change as the runner resends it: its first copy landed, its answer was lost.
    const writeKey = writeKeys();
    for (let i = 0; i < 2; i++) {
      const written = await patchIntent(chorus, intent, visit, { writeKey });
      expect(written).toMatchObject({ version: 2, state: { visits: 1 } });
    }
    // Without a key the resend meets a 409 and the updater counts the visit again.
    const unkeyed = await patchIntent(chorus, intent, visit);
    expect(unkeyed).toMatchObject({ version: 3, state: { visits: 2 } });
  });

  /** The next patch that lands has its answer lost: the hub applied it, the caller sees an outage. */
  function loseNextAnswer(chorus: Chorus): void {
    const original = chorus.strict.intents.patchState.bind(chorus.strict.intents);
    let lost = false;
    chorus.strict.intents.patchState = async (...args) => {
      const written = await original(...args);
      if (!lost) {
        lost = true;
        throw new ConnectionError("answer lost", { reason: "network" });
      }
      return written;
    };
  }

  it("a change whose write landed after a 409 and lost its answer is a replay when sent again, not a second write", async () => {
    const chorus = client(hub);
    const seen = await createIntent(chorus, [], { visits: 0 });
    // Another writer gets in after the handler read version 1: the first attempt meets a 409,
    // the second (on version 2) lands, and its answer is lost.
    await chorus.intents.patchState(seen.id, { visits: 10 });
    loseNextAnswer(chorus);
    const visit = (s: Record<string, unknown>) => ({ visits: Number(s.visits) + 1 });
    const writeKey = writeKeys();
    await expect(patchIntent(chorus, seen, visit, { writeKey })).rejects.toBeInstanceOf(
      ConnectionError,
    );
    // The runner sends the same change again from what the handler saw, as after an outage.
    const written = await patchIntent(chorus, seen, visit, { writeKey });
    expect(written).toMatchObject({ version: 3, state: { visits: 11 } });
    expect((await stateChangedEvents(chorus, seen.id)).length).toBe(2);
  });

  it("an updater that is not a pure function of the state is resent as it was first sent", async () => {
    const chorus = client(hub);
    const seen = await createIntent(chorus, [], { visits: 0 });
    loseNextAnswer(chorus);
    let calls = 0;
    const visit = (s: Record<string, unknown>) => ({ visits: Number(s.visits) + 1, call: ++calls });
    const writeKey = writeKeys();
    await expect(patchIntent(chorus, seen, visit, { writeKey })).rejects.toBeInstanceOf(
      ConnectionError,
    );
    const written = await patchIntent(chorus, seen, visit, { writeKey });
    expect(written).toMatchObject({ version: 2, state: { visits: 1, call: 1 } });
    expect((await stateChangedEvents(chorus, seen.id)).length).toBe(1);
  });
});
