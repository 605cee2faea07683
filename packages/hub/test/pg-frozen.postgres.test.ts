import pg from "pg";
import { afterEach, expect, test } from "vitest";
import type { Hub } from "../src/index.js";
import { api, KEY_A, startTestHub } from "./helpers.js";
import { adminOf, freshDb } from "./store-under-test.js";

// Postgres stops answering on the connections the hub holds, without closing them: a frozen
// server, or one cut off by the network without a reset, which TCP reports only after minutes.
// Writes must not wait for it forever (nor hold every write behind them in the group commit).

const hubs: Hub[] = [];
afterEach(async () => {
  await Promise.all(hubs.splice(0).map((h) => h.close()));
});

const signal = (pids: number[], sig: "STOP" | "CONT") => {
  for (const pid of pids) process.kill(pid, `SIG${sig}`);
};

test("writes on connections whose server froze are answered (503 or stored), and writing goes on once it thaws", {
  timeout: 60_000,
}, async () => {
  const db = await freshDb();
  const hub = await startTestHub({ db });
  hubs.push(hub);
  const { admin, name } = await adminOf(db);
  let frozen: number[] = [];
  try {
    expect(
      (await api(hub, "/v1/events", { body: { channel: "frozen", type: "note" } })).status,
    ).toBe(202);
    const { rows } = await admin.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE datname = $1",
      [name],
    );
    frozen = rows.map((r) => r.pid);
    expect(frozen.length).toBeGreaterThan(0);
    signal(frozen, "STOP");

    const answers = await Promise.all(
      [1, 2, 3].map(async (n) => {
        // Far beyond the hub's own bounds: reaching it means the request hung.
        const res = await fetch(`${hub.url}/v1/events`, {
          method: "POST",
          signal: AbortSignal.timeout(30_000),
          headers: { authorization: `Bearer ${KEY_A}`, "content-type": "application/json" },
          body: JSON.stringify({ id: `frozen-${n}`, channel: "frozen", type: "note" }),
        });
        return res.status;
      }),
    );
    // The write that met the frozen connection fails retryably; the ones queued behind it go
    // to new connections (the frozen ones are destroyed), which the server still answers.
    for (const status of answers) expect([202, 503]).toContain(status);
    expect(answers).toContain(503);

    signal(frozen, "CONT");
    frozen = [];
    const after = await api(hub, "/v1/events", {
      body: { id: "after", channel: "frozen", type: "note" },
    });
    expect(after.status).toBe(202);
  } finally {
    if (frozen.length > 0) signal(frozen, "CONT");
    await admin.end();
  }
});

test("a write stuck behind a lock another session holds is answered 503 (statement_timeout), then stored once the lock goes", {
  timeout: 60_000,
}, async () => {
  const db = await freshDb();
  const hub = await startTestHub({ db });
  hubs.push(hub);
  // An operator's session (or a stuck job) holding the counter row every writer locks.
  const holder = new pg.Client({ connectionString: db });
  await holder.connect();
  try {
    await holder.query("BEGIN");
    await holder.query("SELECT * FROM chorus_seq FOR UPDATE");
    const stuck = await api(hub, "/v1/events", {
      body: { id: "locked", channel: "locked", type: "note" },
    });
    expect(stuck.status).toBe(503);
    expect(stuck.body.error.code).toBe("unavailable");
    await holder.query("COMMIT");
    const retried = await api(hub, "/v1/events", {
      body: { id: "locked", channel: "locked", type: "note" },
    });
    expect(retried.status).toBe(202);
  } finally {
    await holder.query("ROLLBACK").catch(() => {});
    await holder.end();
  }
});
