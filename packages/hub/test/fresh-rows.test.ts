import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { FreshRows } from "../src/store/fresh-rows.js";
import { migrate } from "../src/store/migrations.js";
import { EventTable } from "../src/store/sqlite-events.js";
import { IntentTables } from "../src/store/sqlite-intents.js";
import type { CommittedEvent, CommittedPage, NewEvent, ReadLimits } from "../src/store/types.js";

const ALL: ReadLimits = { maxEvents: 1_000, maxBytes: 4 * 1024 * 1024 };

const row = (seq: number, bytes = 300): CommittedEvent => ({
  org: "acme",
  event: {
    id: `e${seq}`,
    seq,
    channel: "c",
    env: "default",
    type: "t",
    occurredAt: "2026-12-06T00:00:00.000Z",
    receivedAt: "2026-12-06T00:00:00.000Z",
  },
  payload: "{}",
  metadata: "{}",
  bytes,
});

const seqs = (page: CommittedPage | undefined) => page?.data.map((r) => r.event.seq);

/** Commit `rows` the way EventTable does: written inside a transaction. */
function commit(fresh: FreshRows, rows: CommittedEvent[], inTransaction = false): void {
  fresh.transaction(
    () => {
      for (const r of rows) fresh.written(r);
    },
    () => inTransaction,
  );
}

describe("FreshRows: what the tail reads without the table", () => {
  it("serves committed rows after the cursor, pages by count and bytes like the table, and lets read rows go", () => {
    const fresh = new FreshRows(0);
    commit(fresh, [row(1), row(2), row(3)]);
    commit(fresh, [row(4, 5_000), row(5)]);
    expect(seqs(fresh.read(0, { maxEvents: 2, maxBytes: 1 << 20 }))).toEqual([1, 2]);
    expect(fresh.read(0, { maxEvents: 2, maxBytes: 1 << 20 })?.more).toBe(true);
    // The row that passes the byte bound is kept; the page says more is left.
    const cut = fresh.read(2, { maxEvents: 100, maxBytes: 400 });
    expect(seqs(cut)).toEqual([3, 4]);
    expect(cut?.more).toBe(true);
    expect(fresh.read(4, ALL)).toEqual({ data: [row(5)], more: false });
    // Read rows are gone: a cursor before them goes to the table.
    expect(fresh.read(3, ALL)).toBeUndefined();
    expect(fresh.read(5, ALL)).toEqual({ data: [], more: false });
  });

  it("forgets what a transaction that threw wrote, nested savepoints included, and keeps the rest", () => {
    const fresh = new FreshRows(0);
    expect(() =>
      fresh.transaction(
        () => {
          fresh.written(row(1));
          throw new Error("constraint");
        },
        () => false,
      ),
    ).toThrow("constraint");
    fresh.transaction(
      () => {
        fresh.written(row(1));
        try {
          fresh.transaction(
            () => {
              fresh.written(row(2));
              throw new Error("inner");
            },
            () => true,
          );
        } catch {}
        fresh.written(row(2));
        // A nested transaction that commits joins only when the outermost does.
        fresh.transaction(
          () => fresh.written(row(3)),
          () => true,
        );
        expect(fresh.read(0, ALL)).toEqual({ data: [], more: false });
      },
      () => false,
    );
    expect(seqs(fresh.read(0, ALL))).toEqual([1, 2, 3]);
  });

  it("sends reads to the table past writes it cannot follow, and past rows it let go for room", () => {
    const outside = new FreshRows(0);
    commit(outside, [row(1)]);
    outside.written(row(2)); // no transaction of its own: autocommit or someone else's
    commit(outside, [row(3)]);
    expect(outside.read(0, ALL)).toBeUndefined();
    expect(outside.read(1, ALL)).toBeUndefined();
    expect(seqs(outside.read(2, ALL))).toEqual([3]);

    const enclosed = new FreshRows(0);
    commit(enclosed, [row(1), row(2)], true); // the outermost is someone else's transaction
    commit(enclosed, [row(3)]);
    expect(enclosed.read(0, ALL)).toBeUndefined();
    expect(seqs(enclosed.read(2, ALL))).toEqual([3]);

    const small = new FreshRows(0, 1_000, 3);
    commit(small, [row(1), row(2), row(3), row(4), row(5)]);
    expect(small.read(1, ALL)).toBeUndefined();
    expect(seqs(small.read(2, ALL))).toEqual([3, 4, 5]);
    const bytes = new FreshRows(0, 1_000, 100);
    commit(bytes, [row(1, 600), row(2, 600), row(3, 300)]);
    expect(bytes.read(0, ALL)).toBeUndefined();
    expect(seqs(bytes.read(1, ALL))).toEqual([2, 3]);
  });

  it("keeps every row in order across many small commits and reads", () => {
    const fresh = new FreshRows(0);
    const got: number[] = [];
    let cursor = 0;
    for (let seq = 1; seq <= 5_000; seq++) {
      commit(fresh, [row(seq)]);
      if (seq % 7 === 0) {
        const page = fresh.read(cursor, { maxEvents: 5, maxBytes: 1 << 20 }) as CommittedPage;
        for (const r of page.data) got.push(r.event.seq);
        cursor = got.at(-1) ?? cursor;
      }
    }
    for (;;) {
      const page = fresh.read(cursor, { maxEvents: 5, maxBytes: 1 << 20 }) as CommittedPage;
      if (page.data.length === 0) break;
      for (const r of page.data) got.push(r.event.seq);
      cursor = got.at(-1) as number;
    }
    expect(got).toEqual(Array.from({ length: 5_000 }, (_, i) => i + 1));
  });
});

const event = (id: string, extra: Partial<NewEvent> = {}): NewEvent => ({
  id,
  channel: "research",
  env: "default",
  type: "tool.end",
  payload: {
    text: "caf\u00e9 \u2028 \u00fcber",
    n: 1e21,
    small: 5e-324,
    nested: { a: [1, null, "x"] },
  },
  metadata: { framework: "bench" },
  occurredAt: "2026-12-06T08:00:00.000Z",
  ...extra,
});

/** Every page after `after` until the end, as `table` reads them. */
function pages(table: EventTable, after: number, limits: ReadLimits): CommittedPage[] {
  const out: CommittedPage[] = [];
  for (;;) {
    const page = table.readAfter(after, limits);
    out.push(page);
    if (!page.more) return out;
    after = page.data.at(-1)?.event.seq as number;
  }
}

/** A database with events and intent writes of several kinds, one of them rolled back. */
function written(): { db: Database.Database; table: EventTable } {
  const db = new Database(":memory:");
  migrate(db);
  const table = new EventTable(db);
  const intents = new IntentTables(db, table);
  table.insertMany("acme", [
    event("a", { app: "shop", agent: "researcher", traceId: "0af7651916cd43dd8448eb211c80319c" }),
    event("b", { spanId: "b7ad6b7169203331", parentSpanId: "00f067aa0ba902b7", intentId: "i-x" }),
    event("a"), // a duplicate: not stored
    event("c", { payload: { big: "y".repeat(2_000) } }),
  ]);
  table.insertMany("globex", [event("a"), event("d", { app: "" })]);
  expect(intents.create("acme", { id: "i-1", title: "Research", assignees: ["w"] })).toHaveProperty(
    "intent",
  );
  intents.patchState("acme", "i-1", { step: 1 }, { actor: "w" });
  expect(intents.patchState("acme", "i-1", { step: 2 }, { ifMatch: 1 })).toMatchObject({
    error: "conflict",
  });
  expect(intents.setStatus("acme", "i-1", { status: "blocked" })).toHaveProperty("intent");
  intents.appendEvent("acme", "i-1", event("e"));
  expect(() =>
    table.transaction(() => {
      table.insertOne("acme", event("lost"), new Date());
      throw new Error("rolled back");
    }),
  ).toThrow("rolled back");
  table.insertMany("acme", [event("f")]);
  return { db, table };
}

describe("the SQLite store's read after a commit", () => {
  it("hands the tail exactly what reading the table gives, for events and intent writes", () => {
    for (const limits of [
      ALL,
      { maxEvents: 3, maxBytes: 1 << 20 },
      { maxEvents: 100, maxBytes: 700 },
    ]) {
      const { db, table } = written();
      // A second table on the same connection knows of no fresh rows: it reads the table.
      const fromTable = pages(new EventTable(db), 0, limits);
      const fresh = pages(table, 0, limits);
      expect(fresh).toEqual(fromTable);
      const ids = fresh.flatMap((p) => p.data.map((r) => `${r.org}/${r.event.id}`));
      expect(ids.slice(0, 5)).toEqual(["acme/a", "acme/b", "acme/c", "globex/a", "globex/d"]);
      expect(ids).toContain("acme/e");
      expect(ids.some((id) => id.endsWith("/lost"))).toBe(false);
      expect(ids.length).toBe(11);
      if (limits.maxBytes === 700) expect(fresh.length).toBeGreaterThan(3);
    }
  });

  it("counts a character outside the BMP twice where the table counts it once, and nothing else differs", () => {
    const db = new Database(":memory:");
    migrate(db);
    const table = new EventTable(db);
    table.insertMany("acme", [event("emoji", { payload: { text: "\u{1F600}\u{1F680} ok" } })]);
    const [fresh] = table.readAfter(0, ALL).data;
    const [stored] = new EventTable(db).readAfter(0, ALL).data;
    expect({ ...fresh, bytes: 0 }).toEqual({ ...stored, bytes: 0 });
    expect((fresh?.bytes ?? 0) - (stored?.bytes ?? 0)).toBe(2);
  });
});
