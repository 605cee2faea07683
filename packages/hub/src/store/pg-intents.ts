import {
  type ChorusEvent,
  canTransition,
  type Intent,
  type IntentListQuery,
  IntentEventTypes,
  type StateChangedPayload,
  type StatusChangedPayload,
} from "@chorus/protocol";
import type { Pool, PoolClient } from "pg";
import {
  createTooLarge,
  intentLogEvent,
  KEY_REUSED,
  type KeyedEvent,
  mergeState,
  replayOf,
  type SameWrite,
  sameCreate,
  samePatch,
  sameStatus,
  versionConflict,
} from "./intent-log.js";
import { withClient } from "./pg-client.js";
import { insertEventsTx, sizedRows } from "./pg-events.js";
import { inTransaction } from "./pg-migrations.js";
import { EVENT_OVERHEAD_BYTES, type IntentRow, intentFromRow } from "./rows.js";
import type {
  IntentWrite,
  KeyReused,
  InvalidTransition,
  NewEvent,
  NewIntent,
  NotFound,
  StateTooLarge,
  StatusChange,
  VersionConflict,
  AssignOptions,
} from "./types.js";

const NOT_FOUND: NotFound = { error: "not_found" };
const DEFAULT_INTENT_PAGE = 100;

/** An intent with its assignees in assignment order (the same row shape as SQLite's). */
const INTENT_COLUMNS = `i.pos AS rowid, i.id, i.title, i.description, i.status, i.state, i.version,
  i.portfolio, i.parent_id, i.created_by, i.created_at, i.updated_at,
  (SELECT COALESCE(json_agg(a.agent ORDER BY a.pos), '[]'::json)::text
     FROM intent_assignees a WHERE a.org = i.org AND a.intent_id = i.id) AS assignees`;

/** The size of an intent row in a list page, as SQLite's `INTENT_BYTES` counts it. */
const PG_INTENT_BYTES = `octet_length(i.state) + octet_length(i.title)
  + COALESCE(octet_length(i.description), 0) + ${EVENT_OVERHEAD_BYTES} AS bytes`;

/**
 * Intents in Postgres. Every write is one transaction that locks the intent's row first
 * (`FOR UPDATE`), then writes its log event through the counter row: the lock order is always
 * intent, then counter, so writers on several hubs never deadlock, and two writers of the same
 * intent are serialized (If-Match stays exact across hubs).
 */
export class PgIntents {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async get(org: string, id: string, client: Pool | PoolClient = this.#pool, lock = false) {
    const { rows } = await client.query<IntentRow>(
      `SELECT ${INTENT_COLUMNS} FROM intents i WHERE i.org = $1 AND i.id = $2${lock ? " FOR UPDATE OF i" : ""}`,
      [org, id],
    );
    return rows[0] ? intentFromRow(rows[0]) : undefined;
  }

  create(
    org: string,
    input: NewIntent,
    key?: string,
  ): Promise<IntentWrite | { error: "exists" } | StateTooLarge | KeyReused> {
    const tooLarge = createTooLarge(input);
    if (tooLarge) return Promise.resolve(tooLarge);
    const same = sameCreate(input);
    return this.#keyedWrite(async (client) => {
      const replay = await this.#replay(client, org, key, input.id, IntentEventTypes.Created, same);
      if (replay) return replay;
      const now = new Date();
      const at = now.toISOString();
      const { rowCount } = await client.query(
        `INSERT INTO intents (org, id, title, description, status, state, version, portfolio,
          parent_id, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8, $9, $10, $10) ON CONFLICT DO NOTHING`,
        [
          org,
          input.id,
          input.title,
          input.description ?? null,
          input.status ?? "active",
          JSON.stringify(input.state ?? {}),
          input.portfolio ?? null,
          input.parentId ?? null,
          input.createdBy ?? null,
          at,
        ],
      );
      // A create of the same key on another connection commits first (the insert waited for
      // it): its log event is visible now.
      if (rowCount === 0)
        return (
          (await this.#replay(client, org, key, input.id, IntentEventTypes.Created, same)) ?? {
            error: "exists" as const,
          }
        );
      const newlyAssigned: string[] = [];
      for (const agent of new Set(input.assignees ?? [])) {
        if (await this.#addAssignee(client, org, input.id, agent, at)) newlyAssigned.push(agent);
      }
      const intent = (await this.get(org, input.id, client)) as Intent;
      const log = [
        intentLogEvent(intent, IntentEventTypes.Created, { intent }, input.createdBy, now, key),
      ];
      for (const agent of newlyAssigned) {
        log.push(
          intentLogEvent(intent, IntentEventTypes.Assigned, { agent }, input.createdBy, now),
        );
      }
      return { intent, events: await this.#log(client, org, log, now, key) };
    });
  }

  async list(
    org: string,
    query: IntentListQuery,
    maxBytes?: number,
  ): Promise<{ data: Intent[]; next?: string }> {
    const params: unknown[] = [
      org,
      query.after && /^\d+$/.test(query.after) ? Number(query.after) : 0,
      (query.limit ?? DEFAULT_INTENT_PAGE) + 1,
    ];
    const where = ["i.org = $1", "i.pos > $2"];
    if (query.status) {
      params.push(query.status);
      where.push(`i.status = $${params.length}`);
    }
    if (query.portfolio) {
      params.push(query.portfolio);
      where.push(`i.portfolio = $${params.length}`);
    }
    if (query.assignee) {
      params.push(query.assignee);
      where.push(
        `EXISTS (SELECT 1 FROM intent_assignees a WHERE a.org = i.org AND a.intent_id = i.id AND a.agent = $${params.length})`,
      );
    }
    const limit = params[2] as number;
    const { rows, cut } = await sizedRows<IntentRow & { bytes: number }>(
      this.#pool,
      `SELECT ${INTENT_COLUMNS}, ${PG_INTENT_BYTES} FROM intents i WHERE ${where.join(" AND ")} ORDER BY i.pos LIMIT $3`,
      params,
      maxBytes,
      "rowid",
    );
    const more = rows.length === limit || cut;
    const page = rows.slice(0, limit - 1);
    const data = page.map(intentFromRow);
    const last = page.at(-1);
    return more && last ? { data, next: String(last.rowid) } : { data };
  }

  patchState(
    org: string,
    id: string,
    patch: Record<string, unknown>,
    options: { ifMatch?: number; actor?: string; key?: string },
  ): Promise<IntentWrite | NotFound | VersionConflict | StateTooLarge | KeyReused> {
    return this.#keyedWrite(async (client) => {
      const current = await this.get(org, id, client, true);
      if (!current) return NOT_FOUND;
      // After the lock: a resend of this write waits here for the first copy's commit.
      const replay = await this.#replay(
        client,
        org,
        options.key,
        id,
        IntentEventTypes.StateChanged,
        samePatch(patch),
      );
      if (replay) return replay;
      const conflict = versionConflict(current, options.ifMatch);
      if (conflict) return conflict;
      const merged = mergeState(current, patch, options.actor);
      if ("error" in merged) return merged;
      const now = new Date();
      await client.query(
        "UPDATE intents SET state = $1, version = version + 1, updated_at = $2 WHERE org = $3 AND id = $4",
        [merged.json, now.toISOString(), org, id],
      );
      const intent = (await this.get(org, id, client)) as Intent;
      const payload: StateChangedPayload = {
        version: intent.version,
        patch,
        changedKeys: merged.changedKeys,
        state: merged.state,
      };
      const event = intentLogEvent(
        intent,
        IntentEventTypes.StateChanged,
        payload,
        options.actor,
        now,
        options.key,
      );
      return { intent, events: await this.#log(client, org, [event], now, options.key) };
    });
  }

  setStatus(
    org: string,
    id: string,
    change: StatusChange,
  ): Promise<IntentWrite | NotFound | InvalidTransition | VersionConflict | KeyReused> {
    return this.#keyedWrite(async (client) => {
      const current = await this.get(org, id, client, true);
      if (!current) return NOT_FOUND;
      const replay = await this.#replay(
        client,
        org,
        change.key,
        id,
        IntentEventTypes.StatusChanged,
        sameStatus(change),
      );
      if (replay) return replay;
      const conflict = versionConflict(current, change.ifMatch);
      if (conflict) return conflict;
      if (!canTransition(current.status, change.status)) {
        return { error: "invalid_transition" as const, from: current.status, to: change.status };
      }
      const now = new Date();
      await client.query(
        "UPDATE intents SET status = $1, version = version + 1, updated_at = $2 WHERE org = $3 AND id = $4",
        [change.status, now.toISOString(), org, id],
      );
      const intent = (await this.get(org, id, client)) as Intent;
      const payload: StatusChangedPayload = {
        version: intent.version,
        from: current.status,
        to: change.status,
      };
      if (change.reason !== undefined) payload.reason = change.reason;
      const event = intentLogEvent(
        intent,
        IntentEventTypes.StatusChanged,
        payload,
        change.actor,
        now,
        change.key,
      );
      return { intent, events: await this.#log(client, org, [event], now, change.key) };
    });
  }

  assign(
    org: string,
    id: string,
    agent: string,
    { actor, ifMatch }: AssignOptions,
    on: boolean,
  ): Promise<IntentWrite | NotFound | VersionConflict> {
    return this.#write(async (client) => {
      // Locked (FOR UPDATE) to the end of the transaction: the version check holds for the write.
      const current = await this.get(org, id, client, true);
      if (!current) return NOT_FOUND;
      const conflict = versionConflict(current, ifMatch);
      if (conflict) return conflict;
      const now = new Date();
      const changed = on
        ? await this.#addAssignee(client, org, id, agent, now.toISOString())
        : ((
            await client.query(
              "DELETE FROM intent_assignees WHERE org = $1 AND intent_id = $2 AND agent = $3",
              [org, id, agent],
            )
          ).rowCount ?? 0) > 0;
      if (changed) {
        await client.query("UPDATE intents SET updated_at = $1 WHERE org = $2 AND id = $3", [
          now.toISOString(),
          org,
          id,
        ]);
      }
      const intent = (await this.get(org, id, client)) as Intent;
      if (!changed) return { intent, events: [] };
      const type = on ? IntentEventTypes.Assigned : IntentEventTypes.Unassigned;
      const event = intentLogEvent(intent, type, { agent }, actor, now);
      return { intent, events: await this.#log(client, org, [event], now) };
    });
  }

  appendEvent(org: string, id: string, event: NewEvent): Promise<IntentWrite | NotFound> {
    return this.#write(async (client) => {
      const intent = await this.get(org, id, client, true);
      if (!intent) return NOT_FOUND;
      return {
        intent,
        events: await this.#log(client, org, [{ ...event, intentId: id }], new Date()),
      };
    });
  }

  async #addAssignee(
    client: PoolClient,
    org: string,
    id: string,
    agent: string,
    at: string,
  ): Promise<boolean> {
    const { rowCount } = await client.query(
      "INSERT INTO intent_assignees (org, intent_id, agent, assigned_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
      [org, id, agent, at],
    );
    return (rowCount ?? 0) > 0;
  }

  /** A keyed write's replay or refusal when its key is taken; `undefined` when it is new. */
  async #replay(
    client: PoolClient,
    org: string,
    key: string | undefined,
    id: string,
    type: string,
    same: SameWrite,
  ): Promise<IntentWrite | KeyReused | undefined> {
    if (key === undefined) return undefined;
    const { rows } = await client.query<{
      type: string;
      intent_id: string | null;
      payload: string;
    }>("SELECT type, intent_id, payload FROM events WHERE org = $1 AND id = $2", [org, key]);
    const row = rows[0];
    const prior: KeyedEvent | undefined = row && {
      type: row.type,
      intentId: row.intent_id ?? undefined,
      payload: row.payload,
    };
    return replayOf(prior, prior && (await this.get(org, id, client)), type, same);
  }

  /**
   * Insert a write's log events. A keyed one whose key another transaction took meanwhile (a
   * key reused for another intent, on another connection) is stored by neither: the insert
   * would skip it, so the whole write is rolled back ({@link KeyTaken}).
   */
  async #log(
    client: PoolClient,
    org: string,
    events: NewEvent[],
    at: Date,
    key?: string,
  ): Promise<ChorusEvent[]> {
    const { inserted } = await insertEventsTx(client, org, events, at);
    if (key !== undefined && !inserted.some((event) => event.id === key)) throw new KeyTaken();
    return inserted;
  }

  #write<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    return withClient(this.#pool, (client) => inTransaction(client, () => work(client)));
  }

  /** {@link #write} of a write that may carry a key (create, state, status). */
  #keyedWrite<T>(work: (client: PoolClient) => Promise<T>): Promise<T | KeyReused> {
    return this.#write(work).catch((error: unknown) => {
      if (error instanceof KeyTaken) return KEY_REUSED;
      throw error;
    });
  }
}

/** Thrown inside a write's transaction to roll it back when its key was taken meanwhile. */
class KeyTaken extends Error {}
