import type { ChorusEvent, Page } from "@chorus/protocol";
import type Database from "better-sqlite3";
import { FreshRows } from "./fresh-rows.js";
import type { KeyedEvent } from "./intent-log.js";
import {
  EVENT_OVERHEAD_BYTES,
  type EventJson,
  type EventRow,
  envelopeOf,
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

/**
 * Seqs one filtered read may scan when no single index answers its filter. SQLite runs on the
 * hub's one thread: a read for `channel=big&agent=rare` walked the whole channel's index (250,000
 * rows held every other request, SSE deliveries included, for 50-80 ms; an agent stream replayed
 * from 0 over 750,000 events for 235 ms), and ten million rows would stop the hub for seconds.
 * Such a read looks at this many seqs at most and, when it found too few events to fill the page,
 * answers with `next` at the end of the range it looked at (possibly with no events), for the next
 * page to go on from there.
 */
export const SCAN_WINDOW_SEQS = 50_000;

/** Prepared statements are cached per distinct WHERE shape; filters combine into few shapes. */
const MAX_CACHED_QUERIES = 256;
/** Ids per duplicate lookup: under SQLite's default limit of bound parameters, with room. */
const EXISTS_CHUNK = 500;
/**
 * Rows deleted per retention statement: keeps each write lock, and each hold on the hub's one
 * thread (about 25 ms), short while pruning a backlog. One statement after another used to delete
 * a whole backlog in one go: 750,000 events held the hub for 3.5 s.
 */
export const PRUNE_CHUNK = 5_000;

const EVENT_COLUMNS = `seq, id, channel, env, app, type, agent, trace_id, span_id, parent_span_id,
    intent_id, payload, metadata, occurred_at, received_at,
    length(payload) + length(metadata) + ${EVENT_OVERHEAD_BYTES} AS bytes`;

type SizedRow = EventRow & { bytes: number };

/**
 * The events table: batched, deduplicating inserts and filtered cursor reads.
 * Used by {@link SqliteStore}; intent writes append their log events through `insertOne`.
 */
export class EventTable {
  readonly #db: Database.Database;
  readonly #insert: Database.Statement;
  readonly #exists: Database.Statement;
  /** Batch duplicate lookups, one statement per chunk length. */
  readonly #existsMany = new Map<number, Database.Statement>();
  readonly #queries = new Map<string, Database.Statement>();
  readonly #readAfter: Database.Statement;
  readonly #lastSeq: Database.Statement;
  readonly #prune: Database.Statement;
  readonly #firstSeq: Database.Statement;
  readonly #keyed: Database.Statement;
  readonly #fresh: FreshRows;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#readAfter = db.prepare(
      `SELECT org, ${EVENT_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?`,
    );
    this.#exists = db.prepare("SELECT 1 FROM events WHERE org = ? AND id = ?").pluck();
    this.#keyed = db.prepare(
      "SELECT type, intent_id AS intentId, payload FROM events WHERE org = ? AND id = ?",
    );
    this.#prune = db.prepare(
      "DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE received_ms < ? LIMIT ?)",
    );
    this.#lastSeq = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'events'").pluck();
    this.#firstSeq = db.prepare("SELECT MIN(seq) FROM events").pluck();
    this.#insert = db.prepare(`INSERT OR IGNORE INTO events
      (org, id, channel, env, app, type, agent, trace_id, span_id, parent_span_id, intent_id,
       payload, metadata, occurred_at, received_at, received_ms)
      VALUES (@org, @id, @channel, @env, @app, @type, @agent, @traceId, @spanId, @parentSpanId,
       @intentId, @payload, @metadata, @occurredAt, @receivedAt, @receivedMs)`);
    this.#fresh = new FreshRows(this.maxSeq());
  }

  /**
   * Run `fn` in a transaction (a savepoint inside another): every write of events goes through
   * here, so the events a commit stored reach {@link readAfter} without being read back.
   */
  transaction<T>(fn: () => T): T {
    return this.#fresh.transaction(
      () => this.#db.transaction(fn)(),
      () => this.#db.inTransaction,
    );
  }

  /** The event an intent write's key names, when the org has one with that id. */
  keyed(org: string, id: string): KeyedEvent | undefined {
    const row = this.#keyed.get(org, id) as
      | { type: string; intentId: string | null; payload: string }
      | undefined;
    return row && { type: row.type, intentId: row.intentId ?? undefined, payload: row.payload };
  }

  /** Insert one event; undefined when the org already has its id. Call inside a transaction. */
  insertOne(org: string, event: NewEvent, received: Date): ChorusEvent | undefined {
    // Checked first because an ignored INSERT still consumes an AUTOINCREMENT value: without
    // this, every retried duplicate would leave a hole in seq.
    if (this.#exists.get(org, event.id) !== undefined) return undefined;
    return this.#write(org, event, received.toISOString(), received.getTime());
  }

  /**
   * All events in one transaction: one fsync per batch, and seq order equals batch order.
   * Known ids are found with one query per chunk rather than one lookup per event.
   */
  insertMany(org: string, events: readonly NewEvent[]): InsertResult {
    const received = new Date();
    const receivedAt = received.toISOString();
    const receivedMs = received.getTime();
    return this.transaction(() => {
      const seen = this.#existingIds(org, events);
      const inserted: ChorusEvent[] = [];
      let duplicates = 0;
      for (const event of events) {
        // `seen` also catches an id repeated within the batch itself.
        const stored = seen.has(event.id)
          ? undefined
          : this.#write(org, event, receivedAt, receivedMs);
        seen.add(event.id);
        if (stored) inserted.push(stored);
        else duplicates++;
      }
      return { inserted, duplicates, ids: events.map((e) => e.id) };
    });
  }

  #existingIds(org: string, events: readonly NewEvent[]): Set<string> {
    const found = new Set<string>();
    for (let i = 0; i < events.length; i += EXISTS_CHUNK) {
      const chunk = events.slice(i, i + EXISTS_CHUNK);
      let stmt = this.#existsMany.get(chunk.length);
      if (!stmt) {
        stmt = this.#db
          .prepare(
            `SELECT id FROM events WHERE org = ? AND id IN (${chunk.map(() => "?").join(",")})`,
          )
          .pluck();
        this.#existsMany.set(chunk.length, stmt);
      }
      for (const id of stmt.all(org, ...chunk.map((e) => e.id)) as string[]) found.add(id);
    }
    return found;
  }

  #write(
    org: string,
    event: NewEvent,
    receivedAt: string,
    receivedMs: number,
  ): ChorusEvent | undefined {
    const payload = JSON.stringify(event.payload);
    const metadata = JSON.stringify(event.metadata);
    const info = this.#insert.run({
      org,
      id: event.id,
      channel: event.channel,
      env: event.env,
      app: event.app ?? null,
      type: event.type,
      agent: event.agent ?? null,
      traceId: event.traceId ?? null,
      spanId: event.spanId ?? null,
      parentSpanId: event.parentSpanId ?? null,
      intentId: event.intentId ?? null,
      payload,
      metadata,
      occurredAt: event.occurredAt,
      receivedAt,
      receivedMs,
    });
    if (info.changes === 0) return undefined;
    const stored = orderEvent(event, Number(info.lastInsertRowid), receivedAt);
    this.#fresh.written({
      org,
      event: envelopeOf(stored),
      payload,
      metadata,
      // The table counts characters; UTF-16 units here count those outside the BMP twice.
      bytes: payload.length + metadata.length + EVENT_OVERHEAD_BYTES,
    });
    return stored;
  }

  list(org: string, filter: EventFilter, page: PageRequest): Page<ChorusEvent> {
    return this.#list(org, filter, page, eventFromRow);
  }

  /** {@link list} with each event as its JSON text. */
  listJson(org: string, filter: EventFilter, page: PageRequest): Page<EventJson> {
    return this.#list(org, filter, page, eventJsonFromRow);
  }

  #list<T extends { seq: number }>(
    org: string,
    filter: EventFilter,
    page: PageRequest,
    map: (row: EventRow) => T,
  ): Page<T> {
    const after = page.after ?? 0;
    const until = needsWindow(filter) ? after + SCAN_WINDOW_SEQS : undefined;
    const { sql, params } = buildQuery(org, filter, page, until);
    let stmt = this.#queries.get(sql);
    if (!stmt) {
      if (this.#queries.size >= MAX_CACHED_QUERIES) this.#queries.clear();
      stmt = this.#db.prepare(sql);
      this.#queries.set(sql, stmt);
    }
    // One row more than asked tells whether another page exists without a second query.
    const { rows, cut } =
      page.maxBytes === undefined
        ? { rows: stmt.all(params) as SizedRow[], cut: false }
        : takeBytes(stmt.iterate(params) as IterableIterator<SizedRow>, page.maxBytes);
    const more = rows.length > page.limit || cut;
    const data = rows.slice(0, page.limit).map(map);
    const last = data.at(-1);
    if (more && last) return { data, next: last.seq };
    // The range looked at is exhausted; later seqs may hold more.
    if (until !== undefined && until < this.maxSeq()) return { data, next: until };
    return { data };
  }

  /**
   * Every org's events after `after`; in SQLite seq order is commit order, so all are committed.
   * Those this process committed since the last read come from memory ({@link FreshRows}).
   */
  readAfter(after: number, limits: ReadLimits): CommittedPage {
    const fresh = this.#fresh.read(after, limits);
    if (fresh) return fresh;
    const { rows, cut } = takeBytes(
      this.#readAfter.iterate(after, limits.maxEvents + 1) as IterableIterator<
        SizedRow & { org: string }
      >,
      limits.maxBytes,
    );
    const more = rows.length > limits.maxEvents || cut;
    return {
      data: rows.slice(0, limits.maxEvents).map(committedFromRow),
      more,
    };
  }

  /**
   * Delete up to {@link PRUNE_CHUNK} events received before `cutoff`; returns how many. The store
   * calls it until a chunk comes back short, handing the thread back in between.
   */
  pruneChunk(cutoff: Date): number {
    return this.#prune.run(cutoff.getTime(), PRUNE_CHUNK).changes;
  }

  /** The highest seq ever given (retention and ignored inserts do not lower it). */
  maxSeq(): number {
    return (this.#lastSeq.get() as number | undefined) ?? 0;
  }

  /** The lowest seq stored (the primary key's first entry), else the next one to be given. */
  oldestSeq(): number {
    return (this.#firstSeq.get() as number | null | undefined) ?? this.maxSeq() + 1;
  }
}

/**
 * Whether one index does not answer `filter` (see {@link SCAN_WINDOW_SEQS}): an agent's stream
 * (its condition is an OR no index serves), or two conditions or more, unless one is an intent or
 * a trace, whose few events their own index finds.
 */
export function needsWindow(filter: EventFilter): boolean {
  if (filter.assignedTo !== undefined) return true;
  if (filter.intentId !== undefined || filter.traceId !== undefined) return false;
  let conditions = filter.types && filter.types.length > 0 ? 1 : 0;
  if (filter.portfolio !== undefined) conditions++;
  for (const key of Object.keys(FILTER_COLUMNS) as (keyof typeof FILTER_COLUMNS)[])
    if (filter[key] !== undefined) conditions++;
  return conditions >= 2;
}

export function buildQuery(
  org: string,
  filter: EventFilter,
  page: PageRequest,
  until: number | undefined,
): { sql: string; params: Record<string, unknown> } {
  const where = ["org = @org", "seq > @after"];
  const params: Record<string, unknown> = { org, after: page.after ?? 0, limit: page.limit + 1 };
  if (until !== undefined) {
    where.push("seq <= @until");
    params.until = until;
  }
  for (const [key, column] of Object.entries(FILTER_COLUMNS) as [
    keyof typeof FILTER_COLUMNS,
    string,
  ][]) {
    const value = filter[key];
    if (value === undefined) continue;
    where.push(`${column} = @${key}`);
    params[key] = value;
  }
  if (filter.types && filter.types.length > 0) {
    where.push(`type IN (${filter.types.map((_, i) => `@t${i}`).join(", ")})`);
    filter.types.forEach((t, i) => {
      params[`t${i}`] = t;
    });
  }
  if (filter.assignedTo !== undefined) {
    // An agent sees every event of the intents it is assigned to, and its own (un)assignments,
    // including the unassignment that removed it from the intent.
    where.push(`(intent_id IN (SELECT intent_id FROM intent_assignees WHERE org = @org AND agent = @assignedTo)
      OR (type IN ('intent.assigned', 'intent.unassigned') AND intent_id IS NOT NULL
          AND json_extract(payload, '$.agent') = @assignedTo))`);
    params.assignedTo = filter.assignedTo;
  }
  if (filter.portfolio !== undefined) {
    where.push("intent_id IN (SELECT id FROM intents WHERE org = @org AND portfolio = @portfolio)");
    params.portfolio = filter.portfolio;
  }
  // An agent's condition is an OR no index serves. Left to choose, SQLite walked the org's whole
  // index and sorted (62 ms a page for an org of 750,000 events, on every wake of every agent's
  // stream); read in seq order from the cursor instead, which a live stream finds at the end.
  const table = filter.assignedTo === undefined ? "events" : "events NOT INDEXED";
  const sql = `SELECT ${EVENT_COLUMNS} FROM ${table}
    WHERE ${where.join(" AND ")} ORDER BY seq LIMIT @limit`;
  return { sql, params };
}

/**
 * Rows until their sizes pass `maxBytes` (the row that passes it is kept, so a page always
 * holds at least one event). `cut` says a row was left unread because of the byte bound.
 */
export function takeBytes<R extends { bytes: number }>(
  rows: IterableIterator<R>,
  maxBytes: number,
): { rows: R[]; cut: boolean } {
  const out: R[] = [];
  let bytes = 0;
  for (const row of rows) {
    // Leaving the loop early calls the iterator's return(), which resets the statement.
    if (bytes >= maxBytes) return { rows: out, cut: true };
    out.push(row);
    bytes += row.bytes;
  }
  return { rows: out, cut: false };
}
