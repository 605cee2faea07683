import type {
  ChorusEvent,
  Intent,
  IntentCreate,
  IntentListQuery,
  IntentStatus,
  Page,
} from "@chorus/protocol";
import type { EventEnvelope, EventJson } from "./rows.js";

export type { EventEnvelope, EventJson };

/**
 * The storage seam. Routes, SSE and the broker only ever talk to this interface, so a Postgres
 * store can follow without touching them. Every method is async for that reason, even though
 * the SQLite store does its work synchronously.
 *
 * Every call is scoped to one org: nothing here can read or write another org's rows.
 */
/** Who assigns (the log event's agent), and the version the write is conditional on. */
export interface AssignOptions {
  actor?: string | undefined;
  ifMatch?: number | undefined;
}

export interface Store {
  /**
   * A random id made with the database and kept with it: stable across restarts of a hub on
   * the same SQLite file or Postgres database, new for every `:memory:` store. Seqs are only
   * comparable within one epoch.
   */
  readonly epoch: string;
  /**
   * Insert validated events in one transaction. Events whose `id` the org already has are
   * duplicates: not stored again, not returned in `inserted`. `ids` is in input order.
   */
  insertEvents(org: string, events: NewEvent[]): Promise<InsertResult>;
  /** Events after `after` (seq) matching the filter, oldest first. */
  listEvents(org: string, filter: EventFilter, page: PageRequest): Promise<Page<ChorusEvent>>;
  /** {@link listEvents}'s page with each event as its JSON text (SSE replay writes it as is). */
  listEventsJson(org: string, filter: EventFilter, page: PageRequest): Promise<Page<EventJson>>;
  /**
   * The delivery tail's read: committed events of every org with a seq above `after`, oldest
   * first, within `limits` (at least one event when any is there, however large). A store
   * whose seqs can commit out of order (Postgres) returns only the prefix with no seq still
   * being written, so a reader that advances its cursor to the last seq returned never skips
   * one that commits late.
   */
  readAfter(after: number, limits: ReadLimits): Promise<CommittedPage>;

  /**
   * `key` ({@link WriteKey}): a create whose key is the id of this intent's `intent.created`
   * event is answered as a replay instead of `exists`.
   */
  createIntent(
    org: string,
    input: NewIntent,
    key?: string,
  ): Promise<IntentWrite | { error: "exists" } | StateTooLarge | KeyReused>;
  getIntent(org: string, id: string): Promise<Intent | undefined>;
  /**
   * Intents matching the query, in creation order. With `maxBytes` the page stops once its
   * intents' stored JSON (state, title, description) adds up to that many bytes (at least one
   * intent is returned), with `next` to read on.
   */
  listIntents(
    org: string,
    query: IntentListQuery,
    maxBytes?: number,
  ): Promise<{ data: Intent[]; next?: string }>;
  /**
   * Merge-patch the state. With `ifMatch`, the version check and the write are one atomic
   * statement. Every accepted patch increments the version and logs `intent.state_changed`.
   */
  patchIntentState(
    org: string,
    id: string,
    patch: Record<string, unknown>,
    options: { ifMatch?: number; actor?: string; key?: string },
  ): Promise<IntentWrite | NotFound | VersionConflict | StateTooLarge | KeyReused>;
  /** With `ifMatch`, refused as a conflict unless the intent is at that version (atomically). */
  setIntentStatus(
    org: string,
    id: string,
    change: StatusChange,
  ): Promise<IntentWrite | NotFound | InvalidTransition | VersionConflict | KeyReused>;
  /**
   * Idempotent: assigning an agent already assigned writes nothing and returns no event.
   * Assignments do not change the version; with `ifMatch` they are refused as a conflict unless
   * the intent is at that version.
   */
  assign(
    org: string,
    id: string,
    agent: string,
    options?: AssignOptions,
  ): Promise<IntentWrite | NotFound | VersionConflict>;
  unassign(
    org: string,
    id: string,
    agent: string,
    options?: AssignOptions,
  ): Promise<IntentWrite | NotFound | VersionConflict>;
  /** Append a comment or custom event to the intent's log. */
  appendIntentEvent(org: string, id: string, event: NewEvent): Promise<IntentWrite | NotFound>;

  /**
   * Presence (`GET /v1/agents`): how many streams of each agent each hub holds. A hub writes its
   * own count whole (a write lost to an outage is healed by the next one) and renews its held
   * rows on a timer; an agent is online while some hub holds a stream of it and has renewed it
   * since `onlineSince` (now minus the lease), so the holds of a hub that died without closing
   * lapse after one lease. Times are milliseconds since the epoch, from the hub's clock.
   */
  setPresence(hold: PresenceHold, nowMs: number): Promise<void>;
  /** `hub` still holds what it holds: its rows with streams are seen now. */
  renewPresence(hub: string, nowMs: number): Promise<void>;
  /** `hub` holds nothing any more (it is shutting down): its rows are released, seen now. */
  releasePresence(hub: string, nowMs: number): Promise<void>;
  /** The org's agents, online first, then the most recently seen; at most `limit`. */
  listPresence(org: string, onlineSince: number, limit: number): Promise<PresenceEntry[]>;
  /**
   * Forget rows that no longer change an answer: not online, and another row of the same agent
   * is newer (a hub restarts under a new id, so old rows would pile up). Returns how many.
   */
  prunePresence(onlineSince: number): Promise<number>;

  /** Delete events received before `cutoff`. Intents are kept. Returns how many were deleted. */
  pruneEvents(cutoff: Date): Promise<number>;
  /** Highest seq stored, 0 when empty. */
  maxSeq(): Promise<number>;
  /**
   * The lowest seq still stored: what retention deleted lies below it (the next seq to be given
   * when nothing is stored).
   */
  oldestSeq(): Promise<number>;
  /** Cheap check for /readyz. */
  ping(): Promise<boolean>;
  /** Checkpoint and close. */
  close(): Promise<void>;
}

/** What one hub holds of one agent: its open agent streams (0 once they all closed). */
export interface PresenceHold {
  org: string;
  agent: string;
  hub: string;
  streams: number;
}

/** One agent's presence across every hub. */
export interface PresenceEntry {
  agent: string;
  online: boolean;
  /** The latest time any hub saw it: renewed while online, when its last stream closed after. */
  lastSeenMs: number;
}

/** A validated event ready to store: defaults filled in, `seq` and `receivedAt` still to come. */
export type NewEvent = Omit<ChorusEvent, "seq" | "receivedAt">;

export type NewIntent = IntentCreate & { id: string };

export interface InsertResult {
  inserted: ChorusEvent[];
  duplicates: number;
  ids: string[];
}

export interface PageRequest {
  after?: number;
  limit: number;
  /**
   * Stop the page once its events' stored JSON adds up to this many bytes (at least one event
   * is returned). Bounds what one reader holds when events are large.
   */
  maxBytes?: number;
}

/** Bounds of one {@link Store.readAfter} page. */
export interface ReadLimits {
  maxEvents: number;
  /** Approximate: the stored payload and metadata JSON plus a fixed allowance per event. */
  maxBytes: number;
}

/** One committed event with the org it belongs to. */
export interface CommittedEvent {
  org: string;
  /** The event without payload and metadata, which are kept as their stored JSON text. */
  event: EventEnvelope;
  payload: string;
  metadata: string;
  /**
   * Its size, measured as {@link ReadLimits.maxBytes} measures it (SQLite counts characters,
   * Postgres bytes; events SQLite hands over before reading them back count UTF-16 units).
   */
  bytes: number;
}

export interface CommittedPage {
  data: CommittedEvent[];
  /** True when a limit cut the page short: read again after its last seq. */
  more: boolean;
}

export interface EventFilter {
  channel?: string;
  /** Exact type; combined with `types` as AND. */
  type?: string;
  /** Any of these types. */
  types?: string[];
  agent?: string;
  app?: string;
  env?: string;
  traceId?: string;
  intentId?: string;
  /**
   * Events of intents currently assigned to this agent, plus `intent.assigned` /
   * `intent.unassigned` events naming it (so an agent sees its own unassignment).
   */
  assignedTo?: string;
  /** Events of every intent in this portfolio. */
  portfolio?: string;
}

/** An intent write and the log events it produced (already stored, with seq). */
export interface IntentWrite {
  intent: Intent;
  events: ChorusEvent[];
  /**
   * Set when the write's key named a write already made (see {@link WriteKey}): nothing was
   * written, `intent` is the intent as it is now.
   */
  replayed?: true;
}
/**
 * A write's key (the `Idempotency-Key` header): the id its log event gets. Checked first, with
 * the intent locked, so a resent write that happened is answered as a replay rather than applied
 * twice or refused by its own `If-Match`.
 */
export type WriteKey = string;
/** A status change: who makes it, the version it is conditional on, its key ({@link WriteKey}). */
export interface StatusChange {
  status: IntentStatus;
  reason?: string;
  actor?: string;
  ifMatch?: number;
  key?: WriteKey;
}
/** A write's key is the id of an event that is not this write's (another intent, type, or a published event). */
export interface KeyReused {
  error: "key_reused";
}
export interface NotFound {
  error: "not_found";
}
export interface VersionConflict {
  error: "conflict";
  currentVersion: number;
}
export interface InvalidTransition {
  error: "invalid_transition";
  from: IntentStatus;
  to: IntentStatus;
}
/** The intent log event a write would produce passes the per-event limit: nothing was stored. */
export interface StateTooLarge {
  error: "state_too_large";
  bytes: number;
  limit: number;
}
