import type { ChorusEvent, Intent, IntentListQuery, Page } from "@chorus/protocol";
import Database from "better-sqlite3";
import { migrate, readEpoch } from "./migrations.js";
import { EventTable, PRUNE_CHUNK } from "./sqlite-events.js";
import { IntentTables } from "./sqlite-intents.js";
import { PresenceTable } from "./sqlite-presence.js";
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

/**
 * The SQLite store (better-sqlite3, WAL). One connection owned by the hub process; every
 * multi-row write is one transaction, and better-sqlite3 runs them synchronously, so seq order
 * is commit order and a reader never sees a gap that a later commit fills.
 */
export class SqliteStore implements Store {
  readonly #db: Database.Database;
  readonly #events: EventTable;
  readonly #intents: IntentTables;
  readonly #presence: PresenceTable;
  readonly #lock: Database.Database | undefined;
  readonly epoch: string;
  #closed = false;

  private constructor(db: Database.Database, lock: Database.Database | undefined) {
    this.#db = db;
    this.#lock = lock;
    this.epoch = readEpoch(db);
    this.#events = new EventTable(db);
    this.#intents = new IntentTables(db, this.#events);
    this.#presence = new PresenceTable(db);
  }

  /** Open (creating and migrating as needed) the database at `path`, or `:memory:`. */
  static open(path: string): SqliteStore {
    const lock = path === ":memory:" ? undefined : lockForOneHub(path);
    const db = new Database(path);
    db.pragma("journal_mode = WAL");
    // NORMAL in WAL mode: durable across process crashes, at most the last transactions lost on power loss.
    db.pragma("synchronous = NORMAL");
    db.pragma("foreign_keys = ON");
    db.pragma("busy_timeout = 5000");
    migrate(db);
    return new SqliteStore(db, lock);
  }

  async insertEvents(org: string, events: NewEvent[]): Promise<InsertResult> {
    return this.#events.insertMany(org, events);
  }

  async listEvents(
    org: string,
    filter: EventFilter,
    page: PageRequest,
  ): Promise<Page<ChorusEvent>> {
    return this.#events.list(org, filter, page);
  }

  async listEventsJson(
    org: string,
    filter: EventFilter,
    page: PageRequest,
  ): Promise<Page<EventJson>> {
    return this.#events.listJson(org, filter, page);
  }

  async readAfter(after: number, limits: ReadLimits): Promise<CommittedPage> {
    return this.#events.readAfter(after, limits);
  }

  async createIntent(
    org: string,
    input: NewIntent,
    key?: string,
  ): ReturnType<Store["createIntent"]> {
    return this.#intents.create(org, input, key);
  }

  async getIntent(org: string, id: string): Promise<Intent | undefined> {
    return this.#intents.get(org, id);
  }

  async listIntents(
    org: string,
    query: IntentListQuery,
    maxBytes?: number,
  ): Promise<{ data: Intent[]; next?: string }> {
    return this.#intents.list(org, query, maxBytes);
  }

  async patchIntentState(
    org: string,
    id: string,
    patch: Record<string, unknown>,
    options: Parameters<Store["patchIntentState"]>[3],
  ): ReturnType<Store["patchIntentState"]> {
    return this.#intents.patchState(org, id, patch, options);
  }

  async setIntentStatus(
    org: string,
    id: string,
    change: Parameters<Store["setIntentStatus"]>[2],
  ): ReturnType<Store["setIntentStatus"]> {
    return this.#intents.setStatus(org, id, change);
  }

  async assign(
    org: string,
    id: string,
    agent: string,
    options: AssignOptions = {},
  ): Promise<IntentWrite | NotFound | VersionConflict> {
    return this.#intents.assign(org, id, agent, options, true);
  }

  async unassign(
    org: string,
    id: string,
    agent: string,
    options: AssignOptions = {},
  ): Promise<IntentWrite | NotFound | VersionConflict> {
    return this.#intents.assign(org, id, agent, options, false);
  }

  async appendIntentEvent(
    org: string,
    id: string,
    event: NewEvent,
  ): Promise<IntentWrite | NotFound> {
    return this.#intents.appendEvent(org, id, event);
  }

  async setPresence(hold: PresenceHold, nowMs: number): Promise<void> {
    this.#presence.set(hold, nowMs);
  }

  async renewPresence(hub: string, nowMs: number): Promise<void> {
    this.#presence.renew(hub, nowMs);
  }

  async releasePresence(hub: string, nowMs: number): Promise<void> {
    this.#presence.release(hub, nowMs);
  }

  async listPresence(org: string, onlineSince: number, limit: number): Promise<PresenceEntry[]> {
    return this.#presence.list(org, onlineSince, limit);
  }

  async prunePresence(onlineSince: number): Promise<number> {
    return this.#presence.prune(onlineSince);
  }

  async pruneEvents(cutoff: Date): Promise<number> {
    let total = 0;
    while (!this.#closed) {
      const deleted = this.#events.pruneChunk(cutoff);
      total += deleted;
      if (deleted < PRUNE_CHUNK) break;
      // SQLite runs on the hub's thread: let requests and deliveries in between chunks.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return total;
  }

  async maxSeq(): Promise<number> {
    return this.#events.maxSeq();
  }

  async oldestSeq(): Promise<number> {
    return this.#events.oldestSeq();
  }

  async ping(): Promise<boolean> {
    if (this.#closed) return false;
    return (this.#db.prepare("SELECT 1 AS ok").get() as { ok: number }).ok === 1;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      // Fold the WAL back into the main file so the database is one self-contained file at rest.
      if (this.#db.memory === false) this.#db.pragma("wal_checkpoint(TRUNCATE)");
    } catch {
      // A full disk (say) cannot take it: the WAL stays, and SQLite folds it in when the file
      // is opened again. Nothing is lost, and the file and its lock are released all the same.
    }
    this.#db.close();
    this.#lock?.close();
  }
}

/**
 * One hub per SQLite file. Two hubs on one file would each run their own delivery tail and
 * never hear of the other's commits, and their writers would fight over the file's lock. A
 * second connection to `<file>.lock` takes an exclusive lock that lasts as long as it stays
 * open; the operating system releases it when the process ends, even on `kill -9`.
 */
function lockForOneHub(path: string): Database.Database {
  const lock = new Database(`${path}.lock`, { timeout: 0 });
  try {
    lock.pragma("locking_mode = EXCLUSIVE");
    lock.exec("BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS hub (pid INTEGER); DELETE FROM hub;");
    lock.prepare("INSERT INTO hub (pid) VALUES (?)").run(process.pid);
    lock.exec("COMMIT");
    return lock;
  } catch (error) {
    lock.close();
    if ((error as { code?: string }).code === "SQLITE_BUSY") {
      throw new Error(
        `another hub is already using ${path}: a SQLite database serves one hub. To run several hubs, ` +
          "share a Postgres database instead (CHORUS_DB=postgres://… or --db postgres://…).",
      );
    }
    throw error;
  }
}
