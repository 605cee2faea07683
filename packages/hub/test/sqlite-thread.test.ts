import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Hub } from "../src/index.js";
import { migrate } from "../src/store/migrations.js";
import { SqliteStore } from "../src/store/sqlite.js";
import { buildQuery, needsWindow, SCAN_WINDOW_SEQS } from "../src/store/sqlite-events.js";
import type { NewEvent, Store } from "../src/store/types.js";
import { api, ORG_A, startTestHub } from "./helpers.js";
import { metric } from "./mqtt-helpers.js";
import { readSse } from "./sse-helpers.js";

/** More seqs than one scan window, in channel "big"; agent "rare" only at these positions. */
const TOTAL = SCAN_WINDOW_SEQS + 10_000;
const RARE = [1, SCAN_WINDOW_SEQS + 2_000, SCAN_WINDOW_SEQS + 9_000];

async function fill(store: Store): Promise<void> {
  for (let from = 1; from <= TOTAL; from += 5_000) {
    const batch: NewEvent[] = [];
    for (let n = from; n < from + 5_000 && n <= TOTAL; n++)
      batch.push({
        id: `e${n}`,
        channel: "big",
        env: "default",
        type: "tool.start",
        agent: RARE.includes(n) ? "rare" : "common",
        payload: { n },
        metadata: {},
        occurredAt: "2026-12-05T00:00:00.000Z",
      });
    await store.insertEvents(ORG_A, batch);
  }
}

describe("a filtered read that no one index answers (SQLite)", () => {
  let store: SqliteStore;
  beforeAll(async () => {
    store = SqliteStore.open(":memory:");
    await fill(store);
  }, 60_000);
  afterAll(async () => {
    await store.close();
  });

  it("looks at one window of seqs at most, and paging on from `next` finds every match in order", async () => {
    const filter = { channel: "big", agent: "rare" };
    const first = await store.listEvents(ORG_A, filter, { limit: 100 });
    // Only the window was read: its one match, and where to go on from.
    expect(first.data.map((e) => e.payload.n)).toEqual([1]);
    expect(first.next).toBe(SCAN_WINDOW_SEQS);
    const second = await store.listEvents(ORG_A, filter, { after: first.next, limit: 100 });
    expect(second.data.map((e) => e.payload.n)).toEqual(RARE.slice(1));
    expect(second.next).toBeUndefined();
    // A page that fills up within the window ends at its last event, as any page does.
    const full = await store.listEvents(ORG_A, { channel: "big", agent: "common" }, { limit: 10 });
    expect(full.data).toHaveLength(10);
    expect(full.next).toBe(full.data.at(-1)?.seq);
  });

  it("reads by one index without a window: a channel, an intent's or a trace's events", async () => {
    expect(needsWindow({ channel: "big" })).toBe(false);
    expect(needsWindow({ intentId: "i1", type: "intent.comment" })).toBe(false);
    expect(needsWindow({ traceId: "a".repeat(32), channel: "big" })).toBe(false);
    const all = await store.listEvents(ORG_A, { agent: "rare" }, { limit: 100 });
    expect(all.data.map((e) => e.payload.n)).toEqual(RARE);
    expect(all.next).toBeUndefined();
  });

  it("reads an agent's events in seq order from the cursor, not through the org's whole index", () => {
    const db = new Database(":memory:");
    try {
      migrate(db);
      const { sql, params } = buildQuery(
        ORG_A,
        { assignedTo: "writer", types: ["intent.assigned"] },
        { after: 10, limit: 100 },
        10 + SCAN_WINDOW_SEQS,
      );
      const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[])
        .map((row) => row.detail)
        .join("\n");
      expect(plan).toMatch(/SEARCH events USING INTEGER PRIMARY KEY \(rowid>\? AND rowid<\?\)/);
      expect(plan).not.toMatch(/TEMP B-TREE FOR ORDER BY/);
    } finally {
      db.close();
    }
  });
});

describe("retention on SQLite", () => {
  it("prunes a backlog in chunks, handing the hub's thread back in between", async () => {
    const store = SqliteStore.open(":memory:");
    try {
      await fill(store);
      let ranMeanwhile = false;
      const pruning = store.pruneEvents(new Date(Date.now() + 60_000));
      setImmediate(() => {
        ranMeanwhile = true;
      });
      expect(await pruning).toBe(TOTAL);
      // A request arriving during the prune would have been served before it ended.
      expect(ranMeanwhile).toBe(true);
      expect((await store.listEvents(ORG_A, {}, { limit: 10 })).data).toEqual([]);
    } finally {
      await store.close();
    }
  }, 60_000);
});

describe("an SSE stream replaying through windows", () => {
  let hub: Hub;
  beforeAll(async () => {
    // No replay cache: a resumed stream reads the store, as one far behind the tail does.
    hub = await startTestHub({ delivery: { replayCacheBytes: 0 } });
    await fill(hub.store);
    // Stored behind the hub's back: one published event makes its tail read up to them.
    await api(hub, "/v1/events", { body: { channel: "other", type: "custom" } });
    const deadline = Date.now() + 30_000;
    while ((await metric(hub, "chorus_tail_cursor")) < TOTAL + 1) {
      if (Date.now() > deadline) throw new Error("the tail did not catch up");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }, 120_000);
  afterAll(async () => {
    await hub.close();
  });

  it("delivers every match from Last-Event-ID 0, in order, then goes live", async () => {
    const stream = await readSse(hub, "/v1/channels/big/stream?agent=rare", {
      headers: { "last-event-id": "0" },
    });
    try {
      const events = () => stream.frames.filter((f) => f.event !== "chorus.ready");
      await stream.until(() => events().length >= RARE.length, 30_000);
      expect(events().map((f) => (f.data as { payload: { n: number } }).payload.n)).toEqual(RARE);
      const posted = await api(hub, "/v1/events", {
        body: { channel: "big", type: "tool.end", agent: "rare", payload: { n: -1 } },
      });
      expect(posted.status).toBe(202);
      await stream.until(() => events().length === RARE.length + 1, 10_000);
      expect(events().at(-1)?.data).toMatchObject({ payload: { n: -1 } });
    } finally {
      await stream.close();
    }
  }, 60_000);
});
