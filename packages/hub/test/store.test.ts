import type { StateChangedPayload } from "@chorus/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { NewEvent, Store } from "../src/store/types.js";
import { openTestStore } from "./store-under-test.js";

// The store contract, run against SQLite and Postgres (vitest projects `sqlite`, `postgres`).

export function ev(id: string, over: Partial<NewEvent> = {}): NewEvent {
  return {
    id,
    channel: "research",
    env: "default",
    type: "tool.start",
    payload: { n: id },
    metadata: {},
    occurredAt: "2026-11-24T00:00:00.000Z",
    ...over,
  };
}

let store: Store;
beforeEach(async () => {
  store = await openTestStore();
});
afterEach(async () => {
  await store.close();
});

describe("events", () => {
  it("assigns strictly increasing seq and deduplicates by id within an org", async () => {
    const first = await store.insertEvents("acme", [ev("a"), ev("b")]);
    expect(first.inserted.map((e) => e.seq)).toEqual([1, 2]);
    const again = await store.insertEvents("acme", [ev("b"), ev("c")]);
    expect(again).toMatchObject({ duplicates: 1, ids: ["b", "c"] });
    expect(again.inserted.map((e) => [e.id, e.seq])).toEqual([["c", 3]]);
    // The same id in another org is a different event.
    const other = await store.insertEvents("globex", [ev("a")]);
    expect(other.inserted).toHaveLength(1);
    const listed = await store.listEvents("acme", {}, { limit: 10 });
    expect(listed.data.map((e) => e.id)).toEqual(["a", "b", "c"]);
    expect(listed.data[0]).toEqual(first.inserted[0]);
  });

  it("counts an id repeated within one batch as a duplicate, without a hole in seq", async () => {
    const res = await store.insertEvents("acme", [ev("x"), ev("x"), ev("y")]);
    expect(res).toMatchObject({ duplicates: 1, ids: ["x", "x", "y"] });
    expect(res.inserted.map((e) => [e.id, e.seq])).toEqual([
      ["x", 1],
      ["y", 2],
    ]);
  });

  it("filters and pages with an after cursor, next absent on the last page", async () => {
    await store.insertEvents(
      "acme",
      Array.from({ length: 7 }, (_, i) => ev(`e${i}`, { type: i % 2 ? "llm.end" : "tool.start" })),
    );
    const p1 = await store.listEvents("acme", { type: "tool.start" }, { limit: 2 });
    expect(p1.data.map((e) => e.id)).toEqual(["e0", "e2"]);
    const p2 = await store.listEvents("acme", { type: "tool.start" }, { limit: 2, after: p1.next });
    expect(p2.data.map((e) => e.id)).toEqual(["e4", "e6"]);
    expect(p2.next).toBeUndefined();
    const both = await store.listEvents(
      "acme",
      { types: ["llm.end"], channel: "research" },
      { limit: 10 },
    );
    expect(both.data).toHaveLength(3);
    expect((await store.listEvents("acme", { channel: "nope" }, { limit: 10 })).data).toEqual([]);
  });

  it("lists events as JSON text equal to serializing the listed events, page for page", async () => {
    await store.insertEvents("acme", [
      ev("plain"),
      ev("every-field", {
        app: "shop",
        agent: "researcher",
        traceId: "0af7651916cd43dd8448eb211c80319c",
        spanId: "b7ad6b7169203331",
        parentSpanId: "00f067aa0ba902b7",
        intentId: "01JDZ0000000000000000000AA",
        env: "prod",
        metadata: { tags: ["a", "b"], nested: { deep: [1, { x: null }] } },
      }),
      ev("text", {
        type: "llm.end",
        payload: {
          quote: 'say "hi"\\ \n\t\u0001',
          unicode: "héllo 世界 🎉 \u2028",
          lone: "\ud800 and \udfff",
          numbers: [0, -0, 1.5, 1e21, 1e-7, -123456789012, 2 ** 53],
          empty: {},
          list: [],
          bool: [true, false, null],
          ["__proto__"]: { odd: "key" },
          'key with "quotes"': 1,
        },
      }),
      ev("other-channel", { channel: "ops", agent: "watcher" }),
    ]);
    for (const filter of [{}, { channel: "research" }, { agent: "researcher" }]) {
      for (const limit of [1, 2, 10]) {
        let after = 0;
        for (;;) {
          const events = await store.listEvents("acme", filter, { limit, after });
          const json = await store.listEventsJson("acme", filter, { limit, after });
          expect(json.next).toBe(events.next);
          expect(json.data.map((e) => e.json)).toEqual(events.data.map((e) => JSON.stringify(e)));
          expect(json.data.map((e) => [e.seq, e.type])).toEqual(
            events.data.map((e) => [e.seq, e.type]),
          );
          if (events.next === undefined) break;
          after = events.next;
        }
      }
    }
    // Byte-bounded pages end where listEvents' do.
    const bounded = await store.listEventsJson("acme", {}, { limit: 10, maxBytes: 1 });
    expect(bounded.data).toHaveLength(1);
    expect(bounded.next).toBe(
      (await store.listEvents("acme", {}, { limit: 10, maxBytes: 1 })).next,
    );
  });

  it("prunes by receive time and never reuses a seq", async () => {
    await store.insertEvents("acme", [ev("a"), ev("b")]);
    expect(await store.pruneEvents(new Date(Date.now() + 1000))).toBe(2);
    expect(await store.maxSeq()).toBe(2);
    const next = await store.insertEvents("acme", [ev("c")]);
    expect(next.inserted[0]?.seq).toBe(3);
  });

  it("knows the oldest seq it holds: what retention deleted lies below it", async () => {
    expect(await store.oldestSeq()).toBe(1); // empty and new: the next seq to be given
    await store.insertEvents("acme", [ev("a"), ev("b"), ev("c")]);
    await store.insertEvents("other", [ev("d")]);
    expect(await store.oldestSeq()).toBe(1);
    expect(await store.pruneEvents(new Date(Date.now() + 1000))).toBe(4);
    expect(await store.oldestSeq()).toBe(5); // all gone: the next seq to be given
    await store.insertEvents("acme", [ev("e")]);
    expect(await store.oldestSeq()).toBe(5);
  });
});

describe("intents", () => {
  it("creates with version 1, logs created and assigned, and reads back", async () => {
    const res = await store.createIntent("acme", {
      id: "i1",
      title: "Q",
      assignees: ["r", "r", "w"],
      state: { q: 1 },
    });
    if ("error" in res) throw new Error(res.error);
    expect(res.intent).toMatchObject({
      id: "i1",
      status: "active",
      version: 1,
      assignees: ["r", "w"],
      state: { q: 1 },
    });
    expect(res.events.map((e) => e.type)).toEqual([
      "intent.created",
      "intent.assigned",
      "intent.assigned",
    ]);
    expect(await store.createIntent("acme", { id: "i1", title: "again" })).toEqual({
      error: "exists",
    });
    expect(await store.getIntent("globex", "i1")).toBeUndefined();
  });

  it("merge-patches state, bumps the version, logs changed keys, and enforces If-Match", async () => {
    await store.createIntent("acme", { id: "i1", title: "Q", state: { a: 1, b: { c: 1 } } });
    const w = await store.patchIntentState(
      "acme",
      "i1",
      { a: 1, b: { c: 2 }, d: null },
      { ifMatch: 1 },
    );
    if ("error" in w) throw new Error(w.error);
    expect(w.intent.version).toBe(2);
    const payload = w.events[0]?.payload as unknown as StateChangedPayload;
    expect(payload).toEqual({
      version: 2,
      patch: { a: 1, b: { c: 2 }, d: null },
      changedKeys: ["b"],
      state: { a: 1, b: { c: 2 } },
    });
    expect(await store.patchIntentState("acme", "i1", { a: 2 }, { ifMatch: 1 })).toEqual({
      error: "conflict",
      currentVersion: 2,
    });
    expect(await store.patchIntentState("acme", "nope", { a: 2 }, {})).toEqual({
      error: "not_found",
    });
  });

  it("enforces the status machine", async () => {
    await store.createIntent("acme", { id: "i1", title: "Q", status: "draft" });
    expect(await store.setIntentStatus("acme", "i1", { status: "completed" })).toEqual({
      error: "invalid_transition",
      from: "draft",
      to: "completed",
    });
    const ok = await store.setIntentStatus("acme", "i1", { status: "active", reason: "go" });
    if ("error" in ok) throw new Error(ok.error);
    expect(ok.intent).toMatchObject({ status: "active", version: 2 });
    expect(ok.events[0]?.payload).toEqual({
      version: 2,
      from: "draft",
      to: "active",
      reason: "go",
    });
  });

  it("streams an agent's intents and its own unassignment; a portfolio's intents", async () => {
    await store.createIntent("acme", { id: "i1", title: "one", assignees: ["r"], portfolio: "p" });
    await store.createIntent("acme", { id: "i2", title: "two", assignees: ["w"], portfolio: "p" });
    await store.createIntent("acme", { id: "i3", title: "three" });
    await store.patchIntentState("acme", "i1", { x: 1 }, {});
    await store.unassign("acme", "i1", "r");
    const forR = await store.listEvents("acme", { assignedTo: "r" }, { limit: 100 });
    // Once unassigned, the intent's history leaves r's stream, but the unassignment itself stays.
    expect(forR.data.map((e) => e.type)).toEqual(["intent.assigned", "intent.unassigned"]);
    const forW = await store.listEvents("acme", { assignedTo: "w" }, { limit: 100 });
    expect(forW.data.map((e) => [e.intentId, e.type])).toEqual([
      ["i2", "intent.created"],
      ["i2", "intent.assigned"],
    ]);
    const portfolio = await store.listEvents("acme", { portfolio: "p" }, { limit: 100 });
    expect(new Set(portfolio.data.map((e) => e.intentId))).toEqual(new Set(["i1", "i2"]));
    const listed = await store.listIntents("acme", { assignee: "w" });
    expect(listed.data.map((i) => i.id)).toEqual(["i2"]);
    const paged = await store.listIntents("acme", { limit: 2 });
    expect(paged.data.map((i) => i.id)).toEqual(["i1", "i2"]);
    expect(
      (await store.listIntents("acme", { limit: 2, after: paged.next })).data.map((i) => i.id),
    ).toEqual(["i3"]);
  });
});

describe("presence", () => {
  const LEASE = 15_000;
  const hold = (agent: string, hub: string, streams: number, org = "acme") => ({
    org,
    agent,
    hub,
    streams,
  });

  it("an agent is online while some hub holds a stream of it, and keeps the latest time seen", async () => {
    await store.setPresence(hold("writer", "hub-a", 1), 1_000);
    await store.setPresence(hold("writer", "hub-b", 2), 2_000);
    await store.setPresence(hold("scout", "hub-a", 1), 1_500);
    await store.setPresence(hold("other-org", "hub-a", 1, "globex"), 1_000);
    expect(await store.listPresence("acme", 0, 100)).toEqual([
      { agent: "writer", online: true, lastSeenMs: 2_000 },
      { agent: "scout", online: true, lastSeenMs: 1_500 },
    ]);
    // Hub B's streams close; hub A still holds one: online.
    await store.setPresence(hold("writer", "hub-b", 0), 3_000);
    expect((await store.listPresence("acme", 0, 100))[0]).toEqual({
      agent: "writer",
      online: true,
      lastSeenMs: 3_000,
    });
    await store.setPresence(hold("writer", "hub-a", 0), 4_000);
    expect(await store.listPresence("acme", 0, 100)).toEqual([
      { agent: "scout", online: true, lastSeenMs: 1_500 },
      { agent: "writer", online: false, lastSeenMs: 4_000 },
    ]);
    expect(await store.listPresence("acme", 0, 1)).toHaveLength(1);
    expect(await store.listPresence("nobody", 0, 100)).toEqual([]);
  });

  it("a hold lapses after one lease unless its hub renews it; a released hub holds nothing", async () => {
    await store.setPresence(hold("writer", "hub-a", 1), 1_000);
    await store.setPresence(hold("scout", "hub-b", 1), 1_000);
    await store.setPresence(hold("idle", "hub-b", 0), 1_000);
    // Hub A renews at 10 s; hub B went silent (killed): past its lease its agents are offline.
    await store.renewPresence("hub-a", 10_000);
    const at = (now: number) => store.listPresence("acme", now - LEASE, 100);
    expect((await at(12_000)).map((e) => [e.agent, e.online])).toEqual([
      ["writer", true],
      ["scout", true],
      ["idle", false],
    ]);
    expect(await at(20_000)).toEqual([
      { agent: "writer", online: true, lastSeenMs: 10_000 },
      { agent: "idle", online: false, lastSeenMs: 1_000 },
      { agent: "scout", online: false, lastSeenMs: 1_000 },
    ]);
    // Renewal never touches a row without streams.
    expect((await at(20_000)).find((e) => e.agent === "idle")?.lastSeenMs).toBe(1_000);
    await store.releasePresence("hub-a", 21_000);
    expect((await at(21_000))[0]).toEqual({ agent: "writer", online: false, lastSeenMs: 21_000 });
  });

  it("prunes rows that change no answer: offline and older than another row of the same agent", async () => {
    await store.setPresence(hold("writer", "hub-old", 0), 1_000);
    await store.setPresence(hold("writer", "hub-dead", 1), 2_000); // lapsed, never released
    await store.setPresence(hold("writer", "hub-new", 1), 50_000);
    await store.setPresence(hold("scout", "hub-old", 0), 1_000); // its only row: kept
    const since = 50_000 - LEASE;
    const before = await store.listPresence("acme", since, 100);
    expect(await store.prunePresence(since)).toBe(2);
    expect(await store.listPresence("acme", since, 100)).toEqual(before);
    expect(await store.prunePresence(since)).toBe(0);
    // The live row goes offline; two rows with the same time keep one.
    await store.setPresence(hold("writer", "hub-new", 0), 60_000);
    await store.setPresence(hold("writer", "hub-other", 0), 60_000);
    expect(await store.prunePresence(60_000)).toBe(1);
    expect(await store.listPresence("acme", 60_000, 100)).toEqual([
      { agent: "writer", online: false, lastSeenMs: 60_000 },
      { agent: "scout", online: false, lastSeenMs: 1_000 },
    ]);
  });
});
