import type { ChorusEvent, Page } from "@chorus/protocol";
import type { Pool, PoolClient, QueryConfig } from "pg";
import { withClient } from "./pg-client.js";
import { LOCK_PRUNE } from "./pg-migrations.js";
import {
  EVENT_OVERHEAD_BYTES,
  type EventJson,
  type EventRow,
  eventFromRow,
  eventJsonFromRow,
  committedFromRow,
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
/** How long one pruning chunk may run (see {@link pruneEvents}). */
const PRUNE_STATEMENT_TIMEOUT_MS = 120_000;
/** The channel `NOTIFY` carries "seq N committed" on, for every hub's delivery tail. */
export const COMMIT_CHANNEL = "chorus_commits";

const EVENT_COLUMNS = `seq, id, channel, env, app, type, agent, trace_id, span_id, parent_span_id,
    intent_id, payload, metadata, occurred_at, received_at,
    octet_length(payload) + octet_length(metadata) + ${EVENT_OVERHEAD_BYTES} AS bytes`;

type SizedRow = EventRow & { bytes: number };

/** One caller's insert: its org and events, stored contiguously in seq. */
export interface InsertRequest {
  org: string;
  events: readonly NewEvent[];
}

/** What one request of a group stored. */
export interface InsertOutcome {
  inserted: ChorusEvent[];
  duplicates: number;
}

/**
 * Number and insert the events of `requests` on `client`, in one round trip: the caller drops
 * ids repeated within the group, `chorus_insert_events` (migration 3) takes the counter-row lock
 * (see `pg-migrations.ts` for why), skips ids their org already has, inserts the rest, moves the
 * counter and notifies the commit. Each request's events get consecutive seqs, requests in
 * order. Without a transaction of the caller's, the statement is its own transaction.
 */
export async function insertGroupTx(
  client: PoolClient,
  requests: readonly InsertRequest[],
  received: Date,
): Promise<InsertOutcome[]> {
  const cols: (string | null)[][] = Array.from({ length: 14 }, () => []);
  /** Per input row: its request's outcome and event, to place the seq the row gets. */
  const rows: { outcome: InsertOutcome; event: NewEvent }[] = [];
  const outcomes: InsertOutcome[] = [];
  const seen = new Set<string>();
  for (const { org, events } of requests) {
    const outcome: InsertOutcome = { inserted: [], duplicates: 0 };
    outcomes.push(outcome);
    for (const event of events) {
      // Org and id joined by a character neither can hold.
      const key = `${org}\n${event.id}`;
      if (seen.has(key)) {
        outcome.duplicates++;
        continue;
      }
      seen.add(key);
      rows.push({ outcome, event });
      const values = [
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
      ];
      for (let i = 0; i < values.length; i++)
        (cols[i] as (string | null)[]).push(values[i] ?? null);
    }
  }
  if (rows.length === 0) return outcomes;
  const receivedAt = received.toISOString();
  // A named statement: each pool connection parses and plans it once, which matters at a
  // thousand small commits a second.
  const result = await client.query<{ ord: number; seq: number }>({
    name: "chorus-insert-events",
    text: `SELECT ord, seq FROM chorus_insert_events($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
      $11, $12, $13, $14, $15, $16, $17)`,
    values: [...cols, receivedAt, received.getTime(), COMMIT_CHANNEL],
  });
  const seqOf = new Map<number, number>();
  for (const row of result.rows) seqOf.set(Number(row.ord), Number(row.seq));
  rows.forEach(({ outcome, event }, i) => {
    const seq = seqOf.get(i + 1);
    if (seq === undefined) outcome.duplicates++;
    else outcome.inserted.push(orderEvent(event, seq, receivedAt));
  });
  return outcomes;
}

/** {@link insertGroupTx} for one org's events (intent writes append theirs this way). */
export async function insertEventsTx(
  client: PoolClient,
  org: string,
  events: readonly NewEvent[],
  received: Date,
): Promise<InsertOutcome> {
  return (await insertGroupTx(client, [{ org, events }], received))[0] as InsertOutcome;
}

/**
 * Events in one group commit at most (a larger request still goes, alone): bounds the
 * transaction, and so how long the counter lock is held, when many requests queue at once.
 */
export const MAX_GROUP_EVENTS = 5_000;

/**
 * Postgres refused the statement for what it holds (SQLSTATE class 22, data exception, or 23,
 * integrity): one request's fault, so the others of its group are retried alone. Anything else
 * (connection lost, server going away, pool timeout) would fail each retry the same way, one
 * after another, so the whole group fails at once.
 */
function refusedForItsData(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^2[23]/.test(code);
}

interface Queued extends InsertRequest {
  resolve(result: InsertResult): void;
  reject(error: unknown): void;
}

/**
 * Group commit. Every insert takes the counter-row lock and waits for its commit to be flushed,
 * so one transaction per request caps a whole cluster of hubs at a few hundred requests a
 * second however small they are (single-event POSTs at 1,000/s queued for seconds). Instead one
 * writer per hub runs one transaction at a time with every request that arrived meanwhile. A
 * group Postgres refuses for its data is retried one request per transaction, so a bad request
 * (say a NUL that Postgres text cannot hold) fails alone and the others are stored; a group that
 * fails for the database being away fails at once, not one connect timeout per request.
 */
export class GroupCommit {
  readonly #pool: Pool;
  readonly #queue: Queued[] = [];
  #running = false;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  insert(org: string, events: readonly NewEvent[]): Promise<InsertResult> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ org, events, resolve, reject });
      if (!this.#running) void this.#run();
    });
  }

  async #run(): Promise<void> {
    this.#running = true;
    try {
      while (this.#queue.length > 0) {
        let take = 1;
        let size = (this.#queue[0] as Queued).events.length;
        while (take < this.#queue.length) {
          size += (this.#queue[take] as Queued).events.length;
          if (size > MAX_GROUP_EVENTS) break;
          take++;
        }
        const group = this.#queue.splice(0, take);
        try {
          await this.#commit(group);
        } catch (error) {
          if (group.length > 1 && refusedForItsData(error)) {
            for (const one of group) await this.#commit([one]).catch(one.reject);
          } else {
            for (const one of group) one.reject(error);
          }
        }
      }
    } finally {
      this.#running = false;
    }
  }

  async #commit(group: Queued[]): Promise<void> {
    const outcomes = await withClient(this.#pool, (client) =>
      insertGroupTx(client, group, new Date()),
    );
    group.forEach((request, i) => {
      request.resolve({ ...(outcomes[i] as InsertOutcome), ids: request.events.map((e) => e.id) });
    });
  }
}

export function listEvents(
  pool: Pool,
  org: string,
  filter: EventFilter,
  page: PageRequest,
): Promise<Page<ChorusEvent>> {
  return listRows(pool, org, filter, page, eventFromRow);
}

/** {@link listEvents} with each event as its JSON text. */
export function listEventsJson(
  pool: Pool,
  org: string,
  filter: EventFilter,
  page: PageRequest,
): Promise<Page<EventJson>> {
  return listRows(pool, org, filter, page, eventJsonFromRow);
}

async function listRows<T extends { seq: number }>(
  pool: Pool,
  org: string,
  filter: EventFilter,
  page: PageRequest,
  map: (row: EventRow) => T,
): Promise<Page<T>> {
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
  const data = rows.rows.slice(0, page.limit).map(map);
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
    data: rows.slice(0, limits.maxEvents).map(committedFromRow),
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
  if (maxBytes === undefined) {
    return { rows: (await pool.query<R>(named(sql, params))).rows, cut: false };
  }
  params.push(maxBytes);
  const bound = `$${params.length}`;
  const { rows } = await pool.query<R & { before: number; total: number }>(
    named(
      `SELECT * FROM (SELECT q.*, COUNT(*) OVER () AS total,
        COALESCE(SUM(q.bytes) OVER (ORDER BY q.${order}
          ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before FROM (${sql}) q) s
      WHERE s.before < ${bound} ORDER BY s.${order}`,
      params,
    ),
  );
  // `total` counts the rows the query matched within its limit: fewer returned means the byte
  // bound left some unread.
  return { rows, cut: rows.length < (rows[0]?.total ?? 0) };
}

/**
 * Distinct read statements given a name at most: their texts vary only by which filters a
 * query has (values are parameters), so this is never reached in practice; past it queries
 * still run, unnamed.
 */
const MAX_NAMED_READS = 256;
const readNames = new Map<string, string>();

/**
 * A read as a named statement: each pool connection parses and plans it once instead of on
 * every call, which is most of Postgres' work for the tail's small reads at a thousand commits
 * a second.
 */
function named(
  text: string,
  values: unknown[],
): { name?: string; text: string; values: unknown[] } {
  let name = readNames.get(text);
  if (name === undefined && readNames.size < MAX_NAMED_READS) {
    name = `chorus-read-${readNames.size + 1}`;
    readNames.set(text, name);
  }
  return name === undefined ? { text, values } : { name, text, values };
}

/** Delete events received before `cutoff`, in chunks, by one hub at a time (advisory lock). */
export async function pruneEvents(pool: Pool, cutoff: Date): Promise<number> {
  return withClient(pool, async (client) => {
    const { rows } = await client.query<{ locked: boolean }>(
      "SELECT pg_try_advisory_lock($1) AS locked",
      [LOCK_PRUNE],
    );
    if (!rows[0]?.locked) return 0; // another hub is pruning
    try {
      // A chunk of large events (TOAST) may take longer than a request's statement: a chunk
      // cut off by the pool's timeouts would be tried again every round and never finish.
      await client.query(`SET statement_timeout = ${PRUNE_STATEMENT_TIMEOUT_MS}`);
      let total = 0;
      for (;;) {
        const { rowCount } = await client.query({
          text: "DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE received_ms < $1 LIMIT $2)",
          values: [cutoff.getTime(), PRUNE_CHUNK],
          query_timeout: PRUNE_STATEMENT_TIMEOUT_MS + 5_000,
        } as QueryConfig);
        total += rowCount ?? 0;
        if ((rowCount ?? 0) < PRUNE_CHUNK) return total;
      }
    } finally {
      await client.query("RESET statement_timeout"); // back to the pool's, for the next user
      await client.query("SELECT pg_advisory_unlock($1)", [LOCK_PRUNE]);
    }
  });
}
