import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { createHub } from "../src/index.js";
import { migrate } from "../src/store/migrations.js";

export const BATCH = 1000;
const CONCURRENCY = 4;

export function makeEvents(n: number, prefix: string) {
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}-${i}`,
    channel: "bench",
    type: "tool.end",
    agent: "researcher",
    traceId: "0af7651916cd43dd8448eb211c80319c",
    spanId: "b7ad6b7169203331",
    payload: { tool: "search", result: "x".repeat(200), n: i },
    metadata: { framework: "bench" },
    occurredAt: new Date().toISOString(),
  }));
}

/** Raw better-sqlite3: the same rows into the same schema, one transaction per batch, no HTTP. */
export function rawInsertRate(total: number): number {
  const dir = mkdtempSync(join(tmpdir(), "chorus-bench-raw-"));
  const db = new Database(join(dir, "raw.db"));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  migrate(db);
  const insert = db.prepare(`INSERT INTO events (org, id, channel, env, app, type, agent, trace_id,
    span_id, parent_span_id, intent_id, payload, metadata, occurred_at, received_at, received_ms)
    VALUES (?, ?, ?, 'default', NULL, ?, ?, ?, ?, NULL, NULL, ?, ?, ?, ?, ?)`);
  const events = makeEvents(total, "raw");
  const start = performance.now();
  const tx = db.transaction((rows: typeof events) => {
    const now = new Date();
    for (const e of rows) {
      insert.run(
        "acme",
        e.id,
        e.channel,
        e.type,
        e.agent,
        e.traceId,
        e.spanId,
        JSON.stringify(e.payload),
        JSON.stringify(e.metadata),
        e.occurredAt,
        now.toISOString(),
        now.getTime(),
      );
    }
  });
  for (let i = 0; i < total; i += BATCH) tx(events.slice(i, i + BATCH));
  const seconds = (performance.now() - start) / 1000;
  db.close();
  rmSync(dir, { recursive: true, force: true });
  return total / seconds;
}

/** The hub: the same rows POSTed as JSON batches over real HTTP, validated, stored, fanned out. */
export async function hubIngestRate(total: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "chorus-bench-hub-"));
  const hub = await createHub({
    port: 0,
    mqttPort: 0,
    db: join(dir, "hub.db"),
    logger: false,
    apiKeys: "acme:bench_key_123456",
  });
  const bodies: string[] = [];
  const events = makeEvents(total, "hub");
  for (let i = 0; i < total; i += BATCH)
    bodies.push(JSON.stringify({ events: events.slice(i, i + BATCH) }));
  const start = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++];
        const res = await fetch(`${hub.url}/v1/events`, {
          method: "POST",
          headers: { authorization: "Bearer bench_key_123456", "content-type": "application/json" },
          body,
        });
        if (res.status !== 202)
          throw new Error(`ingest answered ${res.status}: ${await res.text()}`);
        await res.arrayBuffer();
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  await hub.close();
  rmSync(dir, { recursive: true, force: true });
  return total / seconds;
}
