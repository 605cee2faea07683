import { afterEach, expect, test } from "vitest";
import type { Hub } from "../src/index.js";
import { api, startTestHub } from "./helpers.js";
import { readSse } from "./sse-helpers.js";
import { adminOf, freshDb } from "./store-under-test.js";

// Postgres cuts every connection of the hub's database, again and again, while clients write
// (what a failover or a restart does to a running hub): the hub must stay up, answer each
// request with a success or a 503 the client retries, and lose and repeat nothing.

const hubs: Hub[] = [];
afterEach(async () => {
  await Promise.all(hubs.splice(0).map((h) => h.close()));
});

const WRITERS = 4;
const BATCHES = 10;
const PER_BATCH = 20;

/** POST one batch until the hub takes it, as the client does: 503 and network errors are retried. */
async function postUntilStored(hub: Hub, body: object): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const res = await api(hub, "/v1/events", { body }).catch(() => undefined);
    if (res?.status === 202) return attempt;
    if (res && res.status !== 503)
      throw new Error(`unexpected ${res.status}: ${JSON.stringify(res.body)}`);
    if (attempt > 200) throw new Error("the hub never took the batch");
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Events stored on the channel, page by page. */
async function storedCount(hub: Hub): Promise<number> {
  let count = 0;
  let after = 0;
  for (;;) {
    const page = await api(hub, `/v1/events?channel=chaos&limit=1000&after=${after}`);
    count += page.body.data.length;
    if (page.body.next === undefined) return count;
    after = page.body.next;
  }
}

test("connections cut over and over during writes: the hub stays up, every event is stored once, an SSE reader sees each once, in order", {
  timeout: 60_000,
}, async () => {
  const db = await freshDb();
  const hub = await startTestHub({ db });
  hubs.push(hub);
  const { admin, name } = await adminOf(db);
  const reader = await readSse(hub, "/v1/channels/chaos/stream");
  let cuts = 0;
  let writing = true;
  const cutter = (async () => {
    while (writing) {
      const { rowCount } = await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        [name],
      );
      if ((rowCount ?? 0) > 0) cuts++;
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  let retried = 0;
  try {
    const ids: string[] = [];
    await Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        for (let b = 0; b < BATCHES; b++) {
          const events = Array.from({ length: PER_BATCH }, (_, i) => {
            const id = `chaos-${w}-${b}-${i}`;
            ids.push(id);
            return { id, channel: "chaos", type: "note", payload: { w, b, i } };
          });
          const attempts = await postUntilStored(hub, { events });
          retried += attempts - 1;
        }
      }),
    );
    writing = false;
    await cutter;
    expect(cuts).toBeGreaterThan(5);

    const total = WRITERS * BATCHES * PER_BATCH;
    await reader.until(() => reader.frames.length >= total, 20_000);
    const seen = reader.frames.map((f) => (f.data as { id: string }).id);
    expect(new Set(seen).size).toBe(seen.length); // nothing twice
    expect([...seen].sort()).toEqual([...ids].sort()); // nothing missing
    const seqs = reader.frames.map((f) => Number(f.id));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b)); // in order
    expect(await storedCount(hub)).toBe(total);
    expect(retried).toBeGreaterThan(0); // the cuts did hit writes
    expect((await api(hub, "/healthz", { key: null })).status).toBe(200);
  } finally {
    writing = false;
    await cutter.catch(() => {});
    await reader.close();
    await admin.end();
  }
});
