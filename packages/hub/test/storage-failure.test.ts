import Database from "better-sqlite3";
import { connect } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Hub } from "../src/index.js";
import { createLogger } from "../src/logger.js";
import { api, KEY_A, startTestHub } from "./helpers.js";

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

describe("a client going away mid-body is not the store failing", () => {
  it("an aborted upload leaves /readyz at 200 and logs no storage warning", async () => {
    const lines: string[] = [];
    // Debug: the request's own "request completed" line says when the hub is done with it.
    const logger = createLogger("debug", { write: (line: string) => void lines.push(line) });
    const hub = await startTestHub({ logger });
    hubs.push(hub);
    const { port } = new URL(hub.url);
    const socket = connect(Number(port), "127.0.0.1");
    socket.on("error", () => {});
    await new Promise((resolve) => socket.on("connect", resolve));
    socket.write(
      `POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY_A}\r\n` +
        "Content-Type: application/json\r\nContent-Length: 500\r\n\r\n" +
        '{"channel":"x","type":"custom",',
    );
    // Auth passed and the body is being read (a request without a key is refused before it).
    await vi.waitFor(() => expect(lines.some((l) => /incoming request/.test(l))).toBe(true));
    socket.destroy();
    await vi.waitFor(() => expect(lines.some((l) => /aborted by the client/.test(l))).toBe(true));
    await api(hub, "/healthz", { key: null }); // a round trip: the body's own error is handled by now
    expect((await api(hub, "/readyz", { key: null })).status).toBe(200);
    expect(lines.filter((l) => /storage/i.test(l))).toEqual([]);
  });
});
