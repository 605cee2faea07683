import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import type { Hub } from "../src/index.js";
import { createLogger } from "../src/logger.js";
import { api, startTestHub } from "./helpers.js";

// The store fails for its own reasons, not the request's: SQLite on a full disk, an I/O error.
// A client must get a 503 it retries (its events stay queued), never a 500; the operator must
// hear of it once, not once per request; and the hub must not call itself ready meanwhile.

const hubs: Hub[] = [];
afterEach(async () => {
  await Promise.all(hubs.splice(0).map((h) => h.close()));
});

describe("storage failing on its own", () => {
  it.each([
    ["database or disk is full", "SQLITE_FULL"],
    ["disk I/O error", "SQLITE_IOERR_WRITE"],
    ["attempt to write a readonly database", "SQLITE_READONLY"],
  ])("%s (%s): 503 with Retry-After, one warning, /readyz fails", async (message, code) => {
    const lines: string[] = [];
    const logger = createLogger("warn", { write: (line: string) => void lines.push(line) });
    const hub = await startTestHub({ logger });
    hubs.push(hub);
    const insert = hub.store.insertEvents.bind(hub.store);
    let failing = true;
    hub.store.insertEvents = async (org, events) => {
      // What better-sqlite3 throws for it.
      if (failing) throw new Database.SqliteError(message, code);
      return insert(org, events);
    };
    expect((await api(hub, "/readyz", { key: null })).status).toBe(200);

    for (let i = 0; i < 3; i++) {
      const res = await api(hub, "/v1/events", {
        body: { channel: "disk", type: "note", payload: { i } },
      });
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe("unavailable");
      expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    }
    const warnings = lines
      .map((l) => JSON.parse(l))
      .filter((l) => /storage unavailable/.test(l.msg));
    expect(warnings).toHaveLength(1);
    expect(warnings[0].error).toBe(message);
    const ready = await api(hub, "/readyz", { key: null });
    expect(ready.status).toBe(503);
    expect(ready.body.error.message).toContain(message);

    failing = false;
    const again = await api(hub, "/v1/events", {
      body: { channel: "disk", type: "note", payload: { i: 3 } },
    });
    expect(again.status).toBe(202);
    // A write went through: ready again at once, not after the 10 s bound.
    expect((await api(hub, "/readyz", { key: null })).status).toBe(200);
  });
});
