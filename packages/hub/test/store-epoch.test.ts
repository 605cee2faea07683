import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createHub, type Hub } from "../src/index.js";
import { PgStore } from "../src/store/pg.js";
import { SqliteStore } from "../src/store/sqlite.js";
import type { Store } from "../src/store/types.js";
import { api, KEY_A, ORG_A } from "./helpers.js";
import { readSse } from "./sse-helpers.js";
import { freshDb, STORE_KIND } from "./store-under-test.js";

/** A database that outlives one store: a SQLite file, or a Postgres database. */
async function durableDb(): Promise<{ db: string; cleanup: () => void }> {
  if (STORE_KIND === "postgres") return { db: await freshDb(), cleanup: () => {} };
  const dir = mkdtempSync(join(tmpdir(), "chorus-epoch-"));
  return { db: join(dir, "hub.db"), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const open = (db: string): Promise<Store> | Store =>
  STORE_KIND === "postgres" ? PgStore.open(db) : SqliteStore.open(db);

const hubs: Hub[] = [];
afterEach(async () => {
  for (const hub of hubs.splice(0)) await hub.close();
});

async function hubOn(db: string): Promise<Hub> {
  const hub = await createHub({
    port: 0,
    mqttPort: false,
    db,
    logger: false,
    apiKeys: `${ORG_A}:${KEY_A}`,
  });
  hubs.push(hub);
  return hub;
}

describe("store epoch", () => {
  it("is made with the database and kept across reopen", async () => {
    const { db, cleanup } = await durableDb();
    try {
      const first = await open(db);
      const epoch = first.epoch;
      expect(epoch).toMatch(/^[0-9a-f]{32}$/);
      await first.close();
      const again = await open(db);
      expect(again.epoch).toBe(epoch);
      await again.close();
    } finally {
      cleanup();
    }
  });

  it("is new for every in-memory store", async () => {
    const a = SqliteStore.open(":memory:");
    const b = SqliteStore.open(":memory:");
    expect(a.epoch).not.toBe(b.epoch);
    await a.close();
    await b.close();
  });

  it("is sent in chorus.ready and in event list bodies, the same after a restart", async () => {
    const { db, cleanup } = await durableDb();
    try {
      const hub = await hubOn(db);
      await api(hub, "/v1/events", { body: { channel: "c", type: "custom" } });
      const { body: list } = await api(hub, "/v1/events?after=0");
      expect(list.epoch).toMatch(/^[0-9a-f]{32}$/);
      expect(list.data).toHaveLength(1);
      await api(hub, "/v1/intents", { body: { id: "i", title: "t" } });
      const { body: log } = await api(hub, "/v1/intents/i/events");
      expect(log.epoch).toBe(list.epoch);
      const stream = await readSse(hub, "/v1/channels/c/stream");
      await stream.until(() => stream.readyAfter !== undefined);
      expect(stream.raw).toContain(`data: {"after":2,"epoch":"${list.epoch}"}`);
      await stream.close();
      await hub.close();

      const restarted = await hubOn(db);
      const { body: after } = await api(restarted, "/v1/events?after=0");
      expect(after.epoch).toBe(list.epoch);
    } finally {
      cleanup();
    }
  });

  it("differs for a new in-memory hub", async () => {
    const a = await hubOn(":memory:");
    const b = await hubOn(":memory:");
    const { body: first } = await api(a, "/v1/events");
    const { body: second } = await api(b, "/v1/events");
    expect(first.epoch).toMatch(/^[0-9a-f]{32}$/);
    expect(second.epoch).not.toBe(first.epoch);
  });
});
