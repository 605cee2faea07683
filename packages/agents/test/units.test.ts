import type { ChorusEvent, Intent } from "@chorus/core";
import { describe, expect, it, vi } from "vitest";
import { stateChanged } from "../src/dispatch.js";
import { foldAssigned, foldIntent } from "../src/intent-fold.js";
import { IntentQueues } from "../src/intent-queue.js";
import { SeqWatermark } from "../src/watermark.js";
import { deferred, sleep } from "./helpers.js";

function event(seq: number, type: string, payload: Record<string, unknown> = {}): ChorusEvent {
  return {
    id: `e${seq}`,
    seq,
    channel: "intents",
    env: "default",
    type,
    intentId: "i1",
    payload,
    metadata: {},
    occurredAt: `2026-01-01T00:00:${String(seq).padStart(2, "0")}Z`,
    receivedAt: "2026-01-01T00:00:00Z",
  };
}

describe("IntentQueues", () => {
  it("stop(Infinity) waits for a running item however long it takes; stop(ms) gives up on it", async () => {
    vi.useFakeTimers();
    try {
      const gate = deferred();
      const queues = new IntentQueues<number>({ concurrency: 1, run: () => gate.promise });
      queues.push("a", 1);
      await vi.advanceTimersByTimeAsync(0);
      let stuck: string[] | undefined;
      void queues.stop(Number.POSITIVE_INFINITY).then((keys) => {
        stuck = keys;
      });
      await vi.advanceTimersByTimeAsync(3_600_000); // an hour: still waiting
      expect(stuck).toBeUndefined();
      gate.resolve();
      await vi.advanceTimersByTimeAsync(0);
      expect(stuck).toEqual([]);

      const never = new IntentQueues<number>({ concurrency: 1, run: () => new Promise(() => {}) });
      never.push("b", 1);
      await vi.advanceTimersByTimeAsync(0);
      let given: string[] | undefined;
      void never.stop(100).then((keys) => {
        given = keys;
      });
      await vi.advanceTimersByTimeAsync(100);
      expect(given).toEqual(["b"]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("runs one key's items in order, one at a time; other keys alongside, up to the bound", async () => {
    const log: string[] = [];
    let active = 0;
    let maxActive = 0;
    const gates = new Map<string, { resolve: () => void }>();
    const queues = new IntentQueues<number>({
      concurrency: 2,
      run: async (key, item) => {
        active++;
        maxActive = Math.max(maxActive, active);
        log.push(`${key}${item}`);
        const gate = deferred();
        gates.set(`${key}${item}`, gate);
        await gate.promise;
        active--;
      },
    });
    for (const item of [1, 2]) for (const key of ["a", "b", "c"]) queues.push(key, item);
    expect(queues.size).toBe(6);
    await sleep(0);
    expect(log).toEqual(["a1", "b1"]); // c waits for a slot; a2 waits for a1
    gates.get("a1")?.resolve();
    await sleep(0);
    expect(log).toEqual(["a1", "b1", "c1"]); // c got in line before a's second item
    gates.get("b1")?.resolve();
    await sleep(0);
    expect(log.at(-1)).toBe("a2");
    for (const name of ["c1", "a2", "b2", "c2"]) {
      await sleep(0);
      gates.get(name)?.resolve();
    }
    await queues.idle();
    expect(log.sort()).toEqual(["a1", "a2", "b1", "b2", "c1", "c2"]);
    expect(maxActive).toBe(2);
    expect(queues.size).toBe(0);
  });

  it("stop() drops what has not started and waits for what runs; a failing item does not stall its key", async () => {
    const ran: string[] = [];
    const gate = deferred();
    const queues = new IntentQueues<string>({
      concurrency: 1,
      run: async (_key, item) => {
        ran.push(item);
        if (item === "fails") throw new Error("x");
        if (item === "slow") await gate.promise;
      },
    });
    queues.push("k", "fails");
    queues.push("k", "slow");
    queues.push("k", "dropped");
    await sleep(0);
    let stopped = false;
    const stopping = queues.stop().then(() => {
      stopped = true;
    });
    await sleep(0);
    expect(stopped).toBe(false);
    gate.resolve();
    await stopping;
    expect(ran).toEqual(["fails", "slow"]);
    queues.push("k", "after stop");
    expect(queues.size).toBe(0);
  });
});

describe("SeqWatermark", () => {
  it("advances only over a contiguous run of handled seqs", () => {
    const mark = new SeqWatermark(10);
    for (const seq of [11, 12, 15, 20]) mark.accept(seq);
    mark.done(12);
    expect(mark.value).toBe(10);
    mark.done(11);
    expect(mark.value).toBe(12);
    mark.done(20);
    expect(mark.value).toBe(12);
    mark.done(15);
    expect(mark.value).toBe(20);
  });
});

describe("stateChanged", () => {
  const changed = (
    keys: string[] | undefined,
    a: Record<string, unknown>,
    b: Record<string, unknown>,
    changedKeys?: string[],
  ) =>
    stateChanged(keys, a, b, event(1, "intent.state_changed", changedKeys ? { changedKeys } : {}));

  it("fires for a watched key whose value really changed", () => {
    expect(changed(["q"], { q: 1 }, { q: 2 }, ["q"])).toBe(true);
    expect(changed(["q"], { q: 1, o: 1 }, { q: 1, o: 2 }, ["o"])).toBe(false);
    expect(changed(["q"], { q: { a: [1] } }, { q: { a: [1] } }, [])).toBe(false);
    expect(changed(["q"], { q: 1 }, {}, ["q"])).toBe(true);
    expect(changed(undefined, { q: 1 }, { q: 1 }, [])).toBe(false);
    expect(changed(undefined, { q: 1 }, { q: 1, r: 2 }, ["r"])).toBe(true);
  });

  it("never fires for an equal value, whatever changedKeys says; and works without changedKeys", () => {
    expect(changed(["q"], { q: [1, 2] }, { q: [1, 2] }, ["q"])).toBe(false);
    expect(changed(["q"], { q: 1 }, { q: 2 })).toBe(true);
    expect(changed(undefined, { q: 1 }, { q: 1 })).toBe(false);
  });
});

describe("foldIntent", () => {
  const created: Intent = {
    id: "i1",
    title: "t",
    status: "active",
    state: { a: 1 },
    version: 1,
    assignees: ["me"],
    createdAt: "x",
    updatedAt: "x",
  };

  it("replays a log into the intent and the agent's assignment", () => {
    const log = [
      event(1, "intent.created", { intent: created }),
      event(2, "intent.assigned", { agent: "me" }),
      event(3, "intent.state_changed", {
        version: 2,
        patch: { a: 2 },
        changedKeys: ["a"],
        state: { a: 2 },
      }),
      event(4, "intent.comment", { text: "hi" }),
      event(5, "intent.status_changed", { version: 3, from: "active", to: "blocked" }),
      event(6, "intent.assigned", { agent: "you" }),
      event(7, "intent.unassigned", { agent: "me" }),
    ];
    let intent: Intent | undefined;
    let assigned = false;
    const trail: boolean[] = [];
    for (const e of log) {
      intent = foldIntent(intent, e);
      assigned = foldAssigned(assigned, e, "me");
      trail.push(assigned);
    }
    expect(intent).toMatchObject({
      state: { a: 2 },
      version: 3,
      status: "blocked",
      assignees: ["you"],
    });
    expect(trail).toEqual([true, true, true, true, true, true, false]);
    // The log's own copy is never aliased.
    expect(created.state).toEqual({ a: 1 });
  });
});
