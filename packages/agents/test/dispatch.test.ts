import type { Chorus, ChorusEvent, Intent } from "@chorus/core";
import type { Hub } from "@chorus/hub";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  agent,
  type HandlerContext,
  type IntentState,
  onAssignment,
  onEvent,
  onStateChange,
  onStatus,
  type StatusChange,
} from "../src/index.js";
import {
  cleanUp,
  client,
  createIntent,
  deferred,
  sleep,
  start,
  startHub,
  waitFor,
} from "./helpers.js";

describe("dispatch", () => {
  let hub: Hub;
  let chorus: Chorus;
  beforeAll(async () => {
    hub = await startHub();
  });
  afterEach(cleanUp);
  afterAll(() => hub.close());

  it("runs the handlers of one event in declaration order, each awaited before the next", async () => {
    chorus = client(hub);
    const order: string[] = [];
    @agent("ordered")
    class Ordered {
      @onEvent("intent.state_changed")
      async first() {
        order.push("first:start");
        await sleep(30);
        order.push("first:end");
      }
      @onStateChange({ keys: ["k"] })
      second() {
        order.push("second");
      }
      @onStatus("completed")
      notThisOne() {
        order.push("status");
      }
      @onStateChange()
      third() {
        order.push("third");
      }
    }
    await start(new Ordered(), { chorus });
    const intent = await createIntent(chorus, ["ordered"]);
    await chorus.intents.patchState(intent.id, { k: 1 });
    await waitFor(() => order.length >= 4, "all handlers");
    expect(order).toEqual(["first:start", "first:end", "second", "third"]);
  });

  it("handles one intent's events one at a time, in order, while different intents run concurrently up to the bound", async () => {
    chorus = client(hub);
    const perIntent = new Map<string, number[]>();
    const inFlight = new Map<string, number>();
    let running = 0;
    let maxRunning = 0;
    let overlapWithinIntent = false;
    // The first two intents to get a handler wait for each other: this only completes if two
    // intents really run at the same time.
    const barrier = { arrived: 0, open: deferred() };

    @agent("parallel", { concurrency: 2 })
    class Parallel {
      @onStateChange({ keys: ["n"] })
      async step(intent: Intent, _old: IntentState, state: IntentState) {
        running++;
        maxRunning = Math.max(maxRunning, running);
        const mine = (inFlight.get(intent.id) ?? 0) + 1;
        inFlight.set(intent.id, mine);
        if (mine > 1) overlapWithinIntent = true;
        if (barrier.arrived < 2) {
          barrier.arrived++;
          if (barrier.arrived === 2) barrier.open.resolve();
          await barrier.open.promise;
        }
        await sleep(Math.random() * 5);
        perIntent.set(intent.id, [...(perIntent.get(intent.id) ?? []), state.n as number]);
        inFlight.set(intent.id, mine - 1);
        running--;
      }
    }
    await start(new Parallel(), { chorus });
    const intents = await Promise.all(
      [1, 2, 3, 4].map(() => createIntent(chorus, ["parallel"], { n: 0 })),
    );
    const steps = 8;
    // Interleave writes across intents so their events alternate on the stream.
    for (let n = 1; n <= steps; n++) {
      await Promise.all(intents.map((i) => chorus.intents.patchState(i.id, { n })));
    }
    await waitFor(
      () => intents.every((i) => perIntent.get(i.id)?.length === steps),
      "every step handled",
    );
    for (const i of intents) expect(perIntent.get(i.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(overlapWithinIntent).toBe(false);
    expect(maxRunning).toBe(2);
  });

  it("hands the current intent: onStatus, onEvent for comments and custom intent.* types, onAssignment", async () => {
    chorus = client(hub);
    const seen: { kind: string; status: string; version: number; detail?: unknown }[] = [];
    @agent("observer")
    class Observer {
      @onAssignment()
      assigned(intent: Intent) {
        seen.push({ kind: "assigned", status: intent.status, version: intent.version });
      }
      @onStatus(["blocked", "completed"])
      status(intent: Intent, change: StatusChange) {
        seen.push({
          kind: "status",
          status: intent.status,
          version: intent.version,
          detail: change,
        });
      }
      @onEvent(["intent.comment", "intent.review_requested"])
      event(intent: Intent, event: ChorusEvent, ctx: HandlerContext) {
        expect(ctx.event?.seq).toBe(event.seq);
        seen.push({
          kind: event.type,
          status: intent.status,
          version: intent.version,
          detail: event.payload,
        });
      }
    }
    await start(new Observer(), { chorus });
    const intent = await createIntent(chorus, []);
    await chorus.intents.assign(intent.id, "observer");
    await chorus.intents.comment(intent.id, "hello");
    await chorus.intents.setStatus(intent.id, "blocked", { reason: "waiting" });
    await chorus.intents.post(intent.id, {
      type: "intent.review_requested",
      payload: { by: "me" },
    });
    await chorus.intents.setStatus(intent.id, "active");
    await chorus.intents.setStatus(intent.id, "completed");
    await waitFor(() => seen.length >= 5, "five handler calls");
    expect(seen).toEqual([
      { kind: "assigned", status: "active", version: 1 },
      {
        kind: "intent.comment",
        status: "active",
        version: 1,
        detail: expect.objectContaining({ text: "hello" }),
      },
      {
        kind: "status",
        status: "blocked",
        version: 2,
        detail: { from: "active", to: "blocked", reason: "waiting" },
      },
      { kind: "intent.review_requested", status: "blocked", version: 2, detail: { by: "me" } },
      {
        kind: "status",
        status: "completed",
        version: 4,
        detail: { from: "active", to: "completed" },
      },
    ]);
  });

  it("ignores events of an intent from before this agent was assigned, and stops at unassignment", async () => {
    chorus = client(hub);
    const changes: unknown[] = [];
    @agent("late")
    class Late {
      @onStateChange()
      change(_i: Intent, _o: IntentState, state: IntentState) {
        changes.push(state.n);
      }
    }
    const running = await start(new Late(), { chorus });
    const intent = await createIntent(chorus, [], { n: 0 });
    const resumeAt = running.lastSeq ?? 0;
    await chorus.intents.patchState(intent.id, { n: 1 }); // before the assignment
    await chorus.intents.assign(intent.id, "late");
    await chorus.intents.patchState(intent.id, { n: 2 });
    await chorus.intents.unassign(intent.id, "late");
    await chorus.intents.patchState(intent.id, { n: 3 }); // after
    await waitFor(() => changes.length >= 1, "the change while assigned");
    await running.stop();
    // A runner resuming from before all this replays the intent's whole log (it is assigned
    // again when the replay is read): it must handle the change made while assigned, and skip
    // the ones from before the assignment and after the unassignment.
    const replayed: unknown[] = [];
    @agent("late")
    class Late2 {
      @onStateChange()
      change(_i: Intent, _o: IntentState, state: IntentState) {
        replayed.push(state.n);
      }
    }
    await chorus.intents.assign(intent.id, "late");
    await chorus.intents.patchState(intent.id, { n: 4 });
    await start(new Late2(), { chorus, after: resumeAt });
    await waitFor(() => replayed.includes(4), "the change after re-assignment");
    expect(changes).toEqual([2]);
    expect(replayed).toEqual([2, 4]);
  });
});
