import type { ChorusEvent, Page } from "@chorus/protocol";
import type { Pool, PoolClient } from "pg";
import { inTransaction, LOCK_PRUNE } from "./pg-migrations.js";
import {
  EVENT_OVERHEAD_BYTES,
  type EventRow,
  eventFromRow,
  FILTER_COLUMNS,
  orderEvent,
} from "./rows.js";
import type {
  CommittedPage,
  EventFilter,
  InsertResult,
  NewEvent,
  PageRequest,
  ReadLimits,
} from "./types.js";

/** Rows deleted per retention statement: keeps each delete short while pruning a backlog. */
const PRUNE_CHUNK = 5_000;
/** The channel `NOTIFY` carries "seq N committed" on, for every hub's delivery tail. */
export const COMMIT_CHANNEL = "chorus_commits";

const EVENT_COLUMNS = `seq, id, channel, env, app, type, agent, trace_id, span_id, parent_span_id,
    intent_id, payload, metadata, occurred_at, received_at,
    octet_length(payload) + octet_length(metadata) + ${EVENT_OVERHEAD_BYTES} AS bytes`;

type SizedRow = EventRow & { bytes: number };

/**
 * Number and insert `events` for `org` in the caller's transaction: lock the counter row (see
 * `pg-migrations.ts` for why), skip ids the org already has (also within the batch), insert the
 * rest in one statement, move the counter, and notify the commit. Returns the stored events.
 */
export async function insertEventsTx(
  client: PoolClient,
  org: string,
  events: readonly NewEvent[],
  received: Date,
): Promise<{ inserted: ChorusEvent[]; duplicates: number }> {
  const { rows } = await client.query<{ value: number }>(
    "SELECT value FROM chorus_seq WHERE id = 1 FOR UPDATE",
  );
  let seq = rows[0]?.value ?? 0;
  // Under the counter lock no other writer can insert these ids meanwhile: checking, then
  // inserting, is race-free across hubs.
  const existing = await client.query<{ id: string }>(
    "SELECT id FROM events WHERE org = $1 AND id = ANY($2::text[])",
    [org, events.map((e) => e.id)],
  );
  const seen = new Set(existing.rows.map((r) => r.id));
  const receivedAt = received.toISOString();
  const inserted: ChorusEvent[] = [];
  const cols: unknown[][] = Array.from({ length: 17 }, () => []);
  let duplicates = 0;
  for (const event of events) {
    if (seen.has(event.id)) {
      duplicates++;
      continue;
    }
    seen.add(event.id);
    seq++;
    const values = [
      seq,
      org,
      event.id,
      event.channel,
      event.env,
      event.app ?? null,
      event.type,
      event.agent ?? null,
      event.traceId ?? null,
      event.spanId ?? null,
      event.parentSpanId ?? null,
      event.intentId ?? null,
      JSON.stringify(event.payload),
      JSON.stringify(event.metadata),
      event.occurredAt,
      receivedAt,
      received.getTime(),
    ];
    for (let i = 0; i < values.length; i++) (cols[i] as unknown[]).push(values[i]);
    inserted.push(orderEvent(event, seq, receivedAt));
  }
  if (inserted.length > 0) {
    await client.query(
      `INSERT INTO events (seq, org, id, channel, env, app, type, agent, trace_id, span_id,
        parent_span_id, intent_id, payload, metadata, occurred_at, received_at, received_ms)
       SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[],
        $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
        $13::text[], $14::text[], $15::text[], $16::text[], $17::bigint[])`,
      cols,
    );
    await client.query("UPDATE chorus_seq SET value = $1 WHERE id = 1", [seq]);
    // Delivered to every listening hub when (and only if) this transaction commits.
    await client.query("SELECT pg_notify($1, $2)", [COMMIT_CHANNEL, String(seq)]);
  }
  return { inserted, duplicates };
}

export async function insertEvents(
  pool: Pool,
  org: string,
  events: readonly NewEvent[],
): Promise<InsertResult> {
  const client = await pool.connect();
  try {
    const result = await inTransaction(client, () =>
      insertEventsTx(client, org, events, new Date()),
    );
    return { ...result, ids: events.map((e) => e.id) };
  } finally {
    client.release();
  }
}

export async function listEvents(
  pool: Pool,
  org: string,
  filter: EventFilter,
  page: PageRequest,
): Promise<Page<ChorusEvent>> {
  const params: unknown[] = [org, page.after ?? 0];
  const where = ["org = $1", "seq > $2"];
  const param = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  for (const [key, column] of Object.entries(FILTER_COLUMNS) as [
    keyof typeof FILTER_COLUMNS,
    string,
  ][]) {
    const value = filter[key];
    if (value !== undefined) where.push(`${column} = ${param(value)}`);
  }
  if (filter.types && filter.types.length > 0) where.push(`type = ANY(${param(filter.types)})`);
  if (filter.assignedTo !== undefined) {
    // As in SQLite: events of intents assigned to the agent, and its own (un)assignments.
    const agent = param(filter.assignedTo);
    where.push(`(intent_id IN (SELECT intent_id FROM intent_assignees WHERE org = $1 AND agent = ${agent})
      OR (type IN ('intent.assigned', 'intent.unassigned') AND intent_id IS NOT NULL
          AND (payload::jsonb ->> 'agent') = ${agent}))`);
  }
  if (filter.portfolio !== undefined) {
    where.push(
      `intent_id IN (SELECT id FROM intents WHERE org = $1 AND portfolio = ${param(filter.portfolio)})`,
    );
  }
  const limit = param(page.limit + 1);
  const rows = await sizedRows<SizedRow>(
    pool,
    `SELECT ${EVENT_COLUMNS} FROM events WHERE ${where.join(" AND ")} ORDER BY seq LIMIT ${limit}`,
    params,
    page.maxBytes,
  );
  const more = rows.rows.length > page.limit || rows.cut;
  const data = rows.rows.slice(0, page.limit).map(eventFromRow);
  const last = data.at(-1);
  return more && last ? { data, next: last.seq } : { data };
}

/** Every org's events after `after`. Seq order is commit order here (see pg-migrations.ts). */
export async function readAfter(
  pool: Pool,
  after: number,
  limits: ReadLimits,
): Promise<CommittedPage> {
  const { rows, cut } = await sizedRows<SizedRow & { org: string }>(
    pool,
    `SELECT org, ${EVENT_COLUMNS} FROM events WHERE seq > $1 ORDER BY seq LIMIT $2`,
    [after, limits.maxEvents + 1],
    limits.maxBytes,
  );
  const more = rows.length > limits.maxEvents || cut;
  return {
    data: rows
      .slice(0, limits.maxEvents)
      .map((row) => ({ org: row.org, event: eventFromRow(row), bytes: row.bytes })),
    more,
  };
}

/**
 * Rows of `sql` until their sizes pass `maxBytes` (the row that passes it is kept, so a page
 * holds at least one event). The running total is computed by Postgres, and rows past the bound
 * are filtered there too, so a page of large events never crosses the wire whole.
 */
export async function sizedRows<R extends { bytes: number }>(
  pool: Pool,
  sql: string,
  params: unknown[],
  maxBytes: number | undefined,
  order = "seq",
): Promise<{ rows: R[]; cut: boolean }> {
  if (maxBytes === undefined) return { rows: (await pool.query<R>(sql, params)).rows, cut: false };
  params.push(maxBytes);
  const bound = `$${params.length}`;
  const { rows } = await pool.query<R & { before: number; total: number }>(
    `SELECT * FROM (SELECT q.*, COUNT(*) OVER () AS total,
        COALESCE(SUM(q.bytes) OVER (ORDER BY q.${order}
          ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before FROM (${sql}) q) s
      WHERE s.before < ${bound} ORDER BY s.${order}`,
    params,
  );
  // `total` counts the rows the query matched within its limit: fewer returned means the byte
  // bound left some unread.
  return { rows, cut: rows.length < (rows[0]?.total ?? 0) };
}

/** Delete events received before `cutoff`, in chunks, by one hub at a time (advisory lock). */
export async function pruneEvents(pool: Pool, cutoff: Date): Promise<number> {
  const client = await pool.connect();
  try {
    const { rows } = await client.query<{ locked: boolean }>(
      "SELECT pg_try_advisory_lock($1) AS locked",
      [LOCK_PRUNE],
    );
    if (!rows[0]?.locked) return 0; // another hub is pruning
    try {
      let total = 0;
      for (;;) {
        const { rowCount } = await client.query(
          "DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE received_ms < $1 LIMIT $2)",
          [cutoff.getTime(), PRUNE_CHUNK],
        );
        total += rowCount ?? 0;
        if ((rowCount ?? 0) < PRUNE_CHUNK) return total;
      }
    } finally {
      await client.query("SELECT pg_advisory_unlock($1)", [LOCK_PRUNE]);
    }
  } finally {
    client.release();
  }
}
