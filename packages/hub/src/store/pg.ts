import type { ChorusEvent, Intent, IntentListQuery, Page } from "@chorus/protocol";
import pg from "pg";
import { GroupCommit, listEvents, listEventsJson, pruneEvents, readAfter } from "./pg-events.js";
import { PgIntents } from "./pg-intents.js";
import { migratePg } from "./pg-migrations.js";
import {
  listPresence,
  prunePresence,
  releasePresence,
  renewPresence,
  setPresence,
} from "./pg-presence.js";
import type {
  CommittedPage,
  EventFilter,
  EventJson,
  InsertResult,
  IntentWrite,
  NewEvent,
  NewIntent,
  NotFound,
  PageRequest,
  PresenceEntry,
  PresenceHold,
  ReadLimits,
  Store,
  VersionConflict,
  AssignOptions,
} from "./types.js";

/** Connections per hub: enough for concurrent requests, few enough for many hubs on one server. */
export const DEFAULT_PG_POOL_SIZE = 10;
/** A connection attempt that takes longer than this fails, so requests answer 503 quickly. */
const CONNECT_TIMEOUT_MS = 5_000;
/**
 * Postgres cancels a statement that runs longer (`statement_timeout`): a write stuck behind a
 * lock answers 503 and the client retries, instead of holding a pool connection and, through
 * the group commit, every write behind it. Below the client's 10 s request timeout, so the hub
 * answers before the client gives up. Migrations lift it (see pg-migrations.ts).
 */
export const STATEMENT_TIMEOUT_MS = 5_000;
/**
 * The hub stops waiting for an answer after this (`query_timeout`), for a server that answers
 * nothing at all (frozen, or cut off without a reset, which TCP reports only after minutes); the
 * connection is then destroyed. Later than {@link STATEMENT_TIMEOUT_MS}, which ends a merely slow
 * statement on the server first.
 */
export const QUERY_TIMEOUT_MS = 7_000;

/** Whether a `db` setting names Postgres rather than a SQLite file. */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db);
}

/** bigint (int8) columns as JavaScript numbers: seqs and positions stay far below 2^53. */
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === 20
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
};

/**
 * The Postgres store (`pg`, a pool per hub). The same contract as {@link SqliteStore}, proven by
 * running the store and hub test suites against both. Several hubs can share one database:
 * seq is numbered under a counter-row lock, so it is gap-free and in commit order across hubs
 * (see `pg-migrations.ts`); every commit `NOTIFY`s `chorus_commits` so other hubs' tails wake.
 */
export class PgStore implements Store {
  readonly pool: pg.Pool;
  readonly #intents: PgIntents;
  readonly #writer: GroupCommit;
  readonly epoch: string;
  #closed = false;

  private constructor(pool: pg.Pool, epoch: string) {
    this.pool = pool;
    this.epoch = epoch;
    this.#intents = new PgIntents(pool);
    this.#writer = new GroupCommit(pool);
  }

  /** Connect, migrate (once across hubs, under an advisory lock) and return the store. */
  static async open(url: string, options: { poolSize?: number } = {}): Promise<PgStore> {
    const pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize ?? DEFAULT_PG_POOL_SIZE,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      statement_timeout: STATEMENT_TIMEOUT_MS,
      query_timeout: QUERY_TIMEOUT_MS,
      keepAlive: true,
      types,
    });
    // An idle client whose server went away emits 'error' on the pool; without a listener
    // that would crash the process. The next query reconnects.
    pool.on("error", () => {});
    let epoch: string;
    try {
      await migratePg(pool);
      const { rows } = await pool.query<{ value: string }>(
        "SELECT value FROM chorus_meta WHERE key = 'epoch'",
      );
      epoch = rows[0]?.value as string;
    } catch (error) {
      await pool.end().catch(() => {});
      throw error;
    }
    return new PgStore(pool, epoch);
  }

  insertEvents(org: string, events: NewEvent[]): Promise<InsertResult> {
    return this.#writer.insert(org, events);
  }

  listEvents(org: string, filter: EventFilter, page: PageRequest): Promise<Page<ChorusEvent>> {
    return listEvents(this.pool, org, filter, page);
  }

  listEventsJson(org: string, filter: EventFilter, page: PageRequest): Promise<Page<EventJson>> {
    return listEventsJson(this.pool, org, filter, page);
  }

  readAfter(after: number, limits: ReadLimits): Promise<CommittedPage> {
    return readAfter(this.pool, after, limits);
  }

  createIntent(org: string, input: NewIntent, key?: string): ReturnType<Store["createIntent"]> {
    return this.#intents.create(org, input, key);
  }

  getIntent(org: string, id: string): Promise<Intent | undefined> {
    return this.#intents.get(org, id);
  }

  listIntents(
    org: string,
    query: IntentListQuery,
    maxBytes?: number,
  ): Promise<{ data: Intent[]; next?: string }> {
    return this.#intents.list(org, query, maxBytes);
  }

  patchIntentState(
    org: string,
    id: string,
    patch: Record<string, unknown>,
    options: Parameters<Store["patchIntentState"]>[3],
  ): ReturnType<Store["patchIntentState"]> {
    return this.#intents.patchState(org, id, patch, options);
  }

  setIntentStatus(
    org: string,
    id: string,
    change: Parameters<Store["setIntentStatus"]>[2],
  ): ReturnType<Store["setIntentStatus"]> {
    return this.#intents.setStatus(org, id, change);
  }

  assign(
    org: string,
    id: string,
    agent: string,
    options: AssignOptions = {},
  ): Promise<IntentWrite | NotFound | VersionConflict> {
    return this.#intents.assign(org, id, agent, options, true);
  }

  unassign(
    org: string,
    id: string,
    agent: string,
    options: AssignOptions = {},
  ): Promise<IntentWrite | NotFound | VersionConflict> {
    return this.#intents.assign(org, id, agent, options, false);
  }

  appendIntentEvent(org: string, id: string, event: NewEvent): Promise<IntentWrite | NotFound> {
    return this.#intents.appendEvent(org, id, event);
  }

  setPresence(hold: PresenceHold, nowMs: number): Promise<void> {
    return setPresence(this.pool, hold, nowMs);
  }

  renewPresence(hub: string, nowMs: number): Promise<void> {
    return renewPresence(this.pool, hub, nowMs);
  }

  releasePresence(hub: string, nowMs: number): Promise<void> {
    return releasePresence(this.pool, hub, nowMs);
  }

  listPresence(org: string, onlineSince: number, limit: number): Promise<PresenceEntry[]> {
    return listPresence(this.pool, org, onlineSince, limit);
  }

  prunePresence(onlineSince: number): Promise<number> {
    return prunePresence(this.pool, onlineSince);
  }

  pruneEvents(cutoff: Date): Promise<number> {
    return pruneEvents(this.pool, cutoff);
  }

  async maxSeq(): Promise<number> {
    const { rows } = await this.pool.query<{ value: number }>(
      "SELECT value FROM chorus_seq WHERE id = 1",
    );
    return rows[0]?.value ?? 0;
  }

  async oldestSeq(): Promise<number> {
    const { rows } = await this.pool.query<{ value: string | null }>(
      "SELECT MIN(seq) AS value FROM events",
    );
    const first = rows[0]?.value;
    return first === null || first === undefined ? (await this.maxSeq()) + 1 : Number(first);
  }

  async ping(): Promise<boolean> {
    if (this.#closed) return false;
    try {
      const { rows } = await this.pool.query<{ ok: number }>("SELECT 1 AS ok");
      return rows[0]?.ok === 1;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.pool.end();
  }
}
