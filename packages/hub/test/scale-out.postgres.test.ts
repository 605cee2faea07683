import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { PgCommitSignal } from "../src/delivery/pg-commit-signal.js";
import type { Hub } from "../src/index.js";
import { PgStore } from "../src/store/pg.js";
import { api, KEY_B, startTestHub } from "./helpers.js";
import { readSse } from "./sse-helpers.js";
import { startHubProcess } from "./hub-process.js";
import { adminOf, freshDb } from "./store-under-test.js";

// Several hubs on one Postgres database: what a team runs when one machine is not enough.

const hubs: Hub[] = [];
afterEach(async () => {
  await Promise.all(hubs.splice(0).map((h) => h.close()));
});

async function cluster(n: number): Promise<{ db: string; hubs: Hub[] }> {
  const db = await freshDb();
  const started: Hub[] = [];
  for (let i = 0; i < n; i++) started.push(await startTestHub({ db }));
  hubs.push(...started);
  return { db, hubs: started };
}

const event = (id: string, n: number) => ({
  id,
  type: "custom",
  channel: "scale",
  payload: { n },
});

/** The channel `scale`'s stored rows: count, distinct commit stamps, first and last seq. */
async function storedRows(db: string) {
  const client = new pg.Client({ connectionString: db });
  await client.connect();
  try {
    const { rows } = await client.query(
      `SELECT count(*)::int AS n, count(DISTINCT received_ms)::int AS commits,
        min(seq)::int AS first, max(seq)::int AS last FROM events WHERE channel = 'scale'`,
    );
    return rows[0] as { n: number; commits: number; first: number; last: number };
  } finally {
    await client.end();
  }
}

// Several hubs and a Postgres round trip per step: slow on a loaded machine, never stuck.
describe("several hubs on one Postgres database", { timeout: 60_000 }, () => {
  it("one Idempotency-Key sent at once through three hubs: each write is applied once, every copy answered", async () => {
    const {
      hubs: [a, b, c],
    } = await cluster(3);
    const all = [a, b, c] as Hub[];
    const copies = <T>(send: (hub: Hub) => Promise<T>) =>
      Promise.all(all.flatMap((hub) => Array.from({ length: 8 }, () => send(hub))));
    const creates = await copies((hub) =>
      api(hub, "/v1/intents", {
        body: { title: "once", state: { n: 0 } },
        headers: { "idempotency-key": "create-key-1" },
      }),
    );
    expect(new Set(creates.map((r) => r.status))).toEqual(new Set([201]));
    expect(creates.filter((r) => r.headers.get("idempotent-replayed") === null)).toHaveLength(1);
    const patches = await copies((hub) =>
      api(hub, "/v1/intents/create-key-1/state", {
        method: "PATCH",
        body: { n: 1 },
        headers: { "idempotency-key": "patch-key-1", "if-match": "1" },
      }),
    );
    expect(new Set(patches.map((r) => r.status))).toEqual(new Set([200]));
    const statuses = await copies((hub) =>
      api(hub, "/v1/intents/create-key-1/status", {
        body: { status: "completed" },
        headers: { "idempotency-key": "status-key-1" },
      }),
    );
    expect(new Set(statuses.map((r) => r.status))).toEqual(new Set([200]));
    const log = await api(a as Hub, "/v1/intents/create-key-1/events");
    expect(log.body.data.map((e: { type: string }) => e.type)).toEqual([
      "intent.created",
      "intent.state_changed",
      "intent.status_changed",
    ]);
    expect((await api(c as Hub, "/v1/intents/create-key-1")).body).toMatchObject({
      version: 3,
      state: { n: 1 },
      status: "completed",
    });
  });

  it("concurrent writers on three hubs: every SSE reader on every hub sees exactly what was stored, in seq order", async () => {
    const {
      hubs: [a, b, c],
    } = await cluster(3);
    const all = [a, b, c] as Hub[];
    const readers = await Promise.all(all.map((h) => readSse(h, "/v1/channels/scale/stream")));
    // 3 hubs × 4 writers × 15 batches of 5 events, all at once.
    const writes: Promise<{ status: number }>[] = [];
    for (const [h, hub] of all.entries()) {
      for (let w = 0; w < 4; w++) {
        writes.push(
          (async () => {
            for (let batch = 0; batch < 15; batch++) {
              const events = Array.from({ length: 5 }, (_, i) =>
                event(`h${h}-w${w}-b${batch}-${i}`, batch * 5 + i),
              );
              const res = await api(hub, "/v1/events", { body: { events } });
              if (res.status !== 202 && res.status !== 200) return res;
            }
            return { status: 202 };
          })(),
        );
      }
    }
    for (const res of await Promise.all(writes)) expect([200, 202]).toContain(res.status);
    const total = 3 * 4 * 15 * 5;

    const stored: { id: string; seq: number }[] = [];
    let after = 0;
    for (;;) {
      const page = await api(a as Hub, `/v1/events?channel=scale&limit=1000&after=${after}`);
      stored.push(...page.body.data);
      if (page.body.next === undefined) break;
      after = page.body.next;
    }
    expect(stored).toHaveLength(total);
    const seqs = stored.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(new Set(seqs).size).toBe(total);

    for (const reader of readers) {
      await reader.until(() => reader.frames.length >= total, 20_000);
      // Exactly the stored set, in seq order: no gap, no duplicate, nothing reordered.
      expect(reader.frames.map((f) => f.data.id)).toEqual(stored.map((e) => e.id));
      expect(reader.frames.map((f) => Number(f.id))).toEqual(seqs);
      await reader.close();
    }
  }, 60_000);

  it("the same event id posted to two hubs at once is stored once", async () => {
    const {
      hubs: [a, b],
    } = await cluster(2);
    const ids = Array.from({ length: 20 }, (_, i) => `dup-${i}`);
    const results = await Promise.all(
      ids.flatMap((id, n) => [
        api(a as Hub, "/v1/events", { body: event(id, n) }),
        api(b as Hub, "/v1/events", { body: event(id, n) }),
      ]),
    );
    for (const r of results) expect([200, 202]).toContain(r.status);
    const page = await api(a as Hub, "/v1/events?channel=scale&limit=1000");
    expect(page.body.data.map((e: { id: string }) => e.id).sort()).toEqual([...ids].sort());
  });

  it("20 clients racing If-Match increments over three hubs end exact", async () => {
    const { hubs: three } = await cluster(3);
    const created = await api(three[0] as Hub, "/v1/intents", {
      body: { id: "counter", title: "count", state: { n: 0 } },
    });
    expect(created.status).toBe(201);
    const perClient = 5;
    await Promise.all(
      Array.from({ length: 20 }, async (_, client) => {
        const hub = three[client % 3] as Hub;
        for (let done = 0; done < perClient; ) {
          const current = await api(hub, "/v1/intents/counter");
          const res = await api(hub, "/v1/intents/counter/state", {
            method: "PATCH",
            body: { n: current.body.state.n + 1 },
            headers: { "if-match": String(current.body.version) },
          });
          if (res.status === 200) done++;
          else expect(res.status).toBe(409);
        }
      }),
    );
    const final = await api(three[2] as Hub, "/v1/intents/counter");
    expect(final.body.state.n).toBe(20 * perClient);
    expect(final.body.version).toBe(1 + 20 * perClient);
  }, 60_000);

  it("presence spans hubs: an agent held on hub B is online on hub A, and offline after B is killed, once its lease has passed", async () => {
    const db = await freshDb();
    // A short lease so the test does not wait out the default 15 s (renewals every third of it).
    const presenceLease = 4_000;
    const a = await startTestHub({ db, presenceLease });
    hubs.push(a);
    const b = await startHubProcess({ db, presenceLease });
    type Agent = { agent: string; online: boolean; lastSeenAt: string | null };
    const onA = async (agent: string) =>
      ((await api(a, "/v1/agents")).body.data as Agent[]).find((e) => e.agent === agent);
    const watch = await readSse(a, "/v1/agents", { headers: { accept: "text/event-stream" } });
    const latest = (agent: string) =>
      (watch.frames.filter((f) => f.event === "chorus.agents").at(-1)?.data.data as Agent[])?.find(
        (e) => e.agent === agent,
      );
    try {
      const runner = await readSse(b.url, "/v1/agents/far-away/stream");
      await runner.until(() => runner.readyAfter !== undefined);
      // Read on A, written by B: through the store, not through any hub's memory.
      await expect
        .poll(() => onA("far-away").then((e) => e?.online), { timeout: 20_000 })
        .toBe(true);
      // A's live stream learns it at A's next renewal at the latest.
      await watch.until(() => latest("far-away")?.online === true, 20_000);

      await b.kill();
      const killedAt = Date.now();
      // Nobody closed B's stream or released its rows: the lease running out is what ends it.
      await watch.until(() => latest("far-away")?.online === false, 30_000);
      const after = await onA("far-away");
      expect(after?.online).toBe(false);
      // Last seen at B's last renewal, before it died.
      expect(Date.parse(after?.lastSeenAt ?? "")).toBeLessThanOrEqual(killedAt);
      await runner.close();
    } finally {
      await watch.close();
      await b.kill();
    }
  }, 90_000);

  it("a presence change on one hub notifies the others with its org, and A's live list follows", async () => {
    // A lease of a minute: what reaches A here comes from B's notifications, not A's renewals.
    const db = await freshDb();
    const a = await startTestHub({ db, presenceLease: 60_000 });
    const b = await startTestHub({ db, presenceLease: 60_000 });
    hubs.push(a, b);
    const heard: string[] = [];
    a.commits.subscribePresence((org) => heard.push(org));
    const watch = await readSse(a, "/v1/agents", { headers: { accept: "text/event-stream" } });
    const online = () =>
      (
        watch.frames.filter((f) => f.event === "chorus.agents").at(-1)?.data.data as {
          agent: string;
          online: boolean;
        }[]
      )?.find((e) => e.agent === "nearby")?.online;
    const runner = await readSse(b, "/v1/agents/nearby/stream", { key: KEY_B });
    await expect.poll(() => heard).toContain("globex");
    const mine = await readSse(b, "/v1/agents/nearby/stream");
    await watch.until(() => online() === true, 20_000);
    await mine.close();
    await watch.until(() => online() === false, 20_000);
    expect(heard.filter((org) => org === "acme").length).toBeGreaterThanOrEqual(2);
    await runner.close();
    await watch.close();
  }, 60_000);

  it("a dropped LISTEN connection loses nothing: the tail catches up after reconnecting", async () => {
    const {
      hubs: [a, b],
    } = await cluster(2);
    const reader = await readSse(a as Hub, "/v1/channels/scale/stream");
    const signal = findSignal(a as Hub);
    signal.dropConnection();
    // Written on B while A is not listening: the NOTIFYs are lost for A.
    for (let i = 0; i < 10; i++) {
      expect((await api(b as Hub, "/v1/events", { body: event(`gap-${i}`, i) })).status).toBe(202);
    }
    await reader.until(() => reader.frames.length >= 10, 15_000);
    expect(reader.frames.map((f) => f.data.id)).toEqual(
      Array.from({ length: 10 }, (_, i) => `gap-${i}`),
    );
    expect(signal.connects).toBeGreaterThanOrEqual(2);
    await reader.close();
  });

  it("a LISTEN connection whose server stops answering (no reset) is found out and replaced: A's readers see what B stores", async () => {
    const {
      hubs: [a, b],
    } = await cluster(2);
    const reader = await readSse(a as Hub, "/v1/channels/scale/stream");
    const signal = findSignal(a as Hub);
    const pid = signal.backendPid;
    expect(pid).toBeDefined();
    // Frozen, not closed: nothing reaches A's listening connection and nothing says so.
    process.kill(pid as number, "SIGSTOP");
    try {
      for (let i = 0; i < 5; i++) {
        const res = await api(b as Hub, "/v1/events", { body: event(`frozen-${i}`, i) });
        expect(res.status).toBe(202);
      }
      // Found out by the heartbeat (HEARTBEAT_MS, then its timeout), replaced, caught up.
      await reader.until(() => reader.frames.length >= 5, 30_000);
    } finally {
      process.kill(pid as number, "SIGCONT");
    }
    expect(reader.frames.map((f) => f.data.id)).toEqual(
      Array.from({ length: 5 }, (_, i) => `frozen-${i}`),
    );
    expect(signal.connects).toBeGreaterThanOrEqual(2);
    await reader.close();
  }, 60_000);

  it("single-event POSTs from many clients at once are each stored once, gap-free", async () => {
    const {
      db,
      hubs: [hub],
    } = await cluster(1);
    const posts = Array.from({ length: 120 }, (_, i) =>
      api(hub as Hub, "/v1/events", { body: event(`g-${i}`, i) }),
    );
    // The same id posted twice in the burst is stored once.
    posts.push(api(hub as Hub, "/v1/events", { body: event("g-7", 7) }));
    const answers = await Promise.all(posts);
    expect(answers.every((a) => a.status === 202)).toBe(true);
    const stored = await storedRows(db);
    expect(stored.n).toBe(120);
    expect(stored.last - stored.first + 1).toBe(120);
  });

  it("inserts that queue behind a commit share the next one", async () => {
    const db = await freshDb();
    const store = await PgStore.open(db);
    try {
      const rows = Array.from({ length: 120 }, (_, i) => ({
        id: `q-${i}`,
        channel: "scale",
        env: "default",
        type: "custom",
        payload: { i },
        metadata: {},
        occurredAt: new Date().toISOString(),
      }));
      await Promise.all(rows.map((row) => store.insertEvents("acme", [row])));
      const stored = await storedRows(db);
      expect(stored.n).toBe(120);
      // The first insert commits alone and the 119 that queued meanwhile commit together (one
      // transaction per request would stamp nearly every event apart).
      expect(stored.commits).toBeLessThanOrEqual(2);
    } finally {
      await store.close();
    }
  });

  it("a request that fails inside a group commit fails alone; the others are stored, gap-free", async () => {
    const db = await freshDb();
    const store = await PgStore.open(db);
    try {
      const row = (i: number, channel = "scale") => ({
        id: `s-${i}`,
        channel,
        env: "default",
        type: "custom",
        payload: { i },
        metadata: {},
        occurredAt: new Date().toISOString(),
      });
      // Validation keeps NUL out of HTTP input; the store is given one to make Postgres refuse.
      const results = await Promise.allSettled(
        Array.from({ length: 40 }, (_, i) =>
          store.insertEvents("acme", [row(i, i === 20 ? "a\u0000b" : "scale")]),
        ),
      );
      expect(results.map((r) => r.status).filter((s) => s === "rejected")).toHaveLength(1);
      expect(results[20]?.status).toBe("rejected");
      const stored = await storedRows(db);
      expect(stored.n).toBe(39);
      expect(stored.last - stored.first + 1).toBe(39);
    } finally {
      await store.close();
    }
  });

  it("a NUL character Postgres text cannot hold is a 400, not a 500", async () => {
    const {
      hubs: [hub],
    } = await cluster(1);
    const res = await api(hub as Hub, "/v1/intents", { body: { title: "a\u0000b" } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("validation_failed");
    expect(res.body.error.message).toMatch(/NUL/);
  });

  it("Postgres unreachable: 503 with Retry-After and /readyz fails; when it returns, writes go on", async () => {
    const {
      db,
      hubs: [hub],
    } = await cluster(1);
    const { admin, name } = await adminOf(db);
    try {
      expect((await api(hub as Hub, "/v1/events", { body: event("before", 0) })).status).toBe(202);
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
      await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        [name],
      );
      const down = await api(hub as Hub, "/v1/events", { body: event("during", 1) });
      expect(down.status).toBe(503);
      expect(down.body.error.code).toBe("unavailable");
      expect(Number(down.headers.get("retry-after"))).toBeGreaterThan(0);
      expect((await api(hub as Hub, "/readyz", { key: null })).status).toBe(503);

      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
      const back = await api(hub as Hub, "/v1/events", { body: event("after", 2) });
      expect(back.status).toBe(202);
      expect((await api(hub as Hub, "/readyz", { key: null })).status).toBe(200);
      const listed = await api(hub as Hub, "/v1/events?channel=scale");
      expect(listed.body.data.map((e: { id: string }) => e.id)).toEqual(["before", "after"]);
    } finally {
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`).catch(() => {});
      await admin.end();
    }
  });
});

/** The hub's commit signal, for the LISTEN-drop test. */
function findSignal(hub: Hub): PgCommitSignal {
  const signal = hub.commits;
  if (!(signal instanceof PgCommitSignal)) throw new Error("hub has no Postgres commit signal");
  return signal;
}
