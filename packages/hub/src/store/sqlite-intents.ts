import {
  type ChorusEvent,
  canTransition,
  type Intent,
  type IntentListQuery,
  IntentEventTypes,
  type StateChangedPayload,
  type StatusChangedPayload,
} from "@chorus/protocol";
import type Database from "better-sqlite3";
import {
  createTooLarge,
  intentLogEvent,
  mergeState,
  replayOf,
  type SameWrite,
  sameCreate,
  samePatch,
  sameStatus,
  versionConflict,
} from "./intent-log.js";
import { INTENT_BYTES, INTENT_COLUMNS, type IntentRow, intentFromRow } from "./rows.js";
import { type EventTable, takeBytes } from "./sqlite-events.js";
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

/**
 * Intents, their assignees, and the log events every write appends. Each write is one
 * transaction covering the row change and its log event, so a reader never sees one without
 * the other.
 */
export class IntentTables {
  readonly #db: Database.Database;
  readonly #events: EventTable;
  readonly #get: Database.Statement;

  constructor(db: Database.Database, events: EventTable) {
    this.#db = db;
    this.#events = events;
    this.#get = db.prepare(`SELECT ${INTENT_COLUMNS} FROM intents i WHERE i.org = ? AND i.id = ?`);
  }

  get(org: string, id: string): Intent | undefined {
    const row = this.#get.get(org, id) as IntentRow | undefined;
    return row ? intentFromRow(row) : undefined;
  }

  create(
    org: string,
    input: NewIntent,
    key?: string,
  ): IntentWrite | { error: "exists" } | StateTooLarge | KeyReused {
    const tooLarge = createTooLarge(input);
    if (tooLarge) return tooLarge;
    return this.#events.transaction(() => {
      const replay = this.#replay(org, key, input.id, IntentEventTypes.Created, sameCreate(input));
      if (replay) return replay;
      const now = new Date();
      const at = now.toISOString();
      const info = this.#db
        .prepare(`INSERT OR IGNORE INTO intents (org, id, title, description, status, state, version,
          portfolio, parent_id, created_by, created_at, updated_at)
          VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)`)
        .run(
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
          at,
        );
      if (info.changes === 0) return { error: "exists" as const };
      const assign = this.#db.prepare(
        "INSERT OR IGNORE INTO intent_assignees (org, intent_id, agent, assigned_at) VALUES (?, ?, ?, ?)",
      );
      const newlyAssigned = [...new Set(input.assignees ?? [])].filter(
        (agent) => assign.run(org, input.id, agent, at).changes > 0,
      );
      const intent = this.get(org, input.id)!;
      const events = [
        this.#log(org, intent, IntentEventTypes.Created, { intent }, input.createdBy, now, key),
      ];
      for (const agent of newlyAssigned) {
        events.push(
          this.#log(org, intent, IntentEventTypes.Assigned, { agent }, input.createdBy, now),
        );
      }
      return { intent, events };
    });
  }

  list(org: string, query: IntentListQuery, maxBytes?: number): { data: Intent[]; next?: string } {
    const where = ["i.org = @org", "i.rowid > @after"];
    const params: Record<string, unknown> = {
      org,
      after: query.after && /^\d+$/.test(query.after) ? Number(query.after) : 0,
      limit: (query.limit ?? DEFAULT_INTENT_PAGE) + 1,
    };
    if (query.status) {
      where.push("i.status = @status");
      params.status = query.status;
    }
    if (query.portfolio) {
      where.push("i.portfolio = @portfolio");
      params.portfolio = query.portfolio;
    }
    if (query.assignee) {
      where.push(
        "EXISTS (SELECT 1 FROM intent_assignees a WHERE a.org = i.org AND a.intent_id = i.id AND a.agent = @assignee)",
      );
      params.assignee = query.assignee;
    }
    const stmt = this.#db.prepare(
      `SELECT ${INTENT_COLUMNS}, ${INTENT_BYTES} FROM intents i WHERE ${where.join(" AND ")} ORDER BY i.rowid LIMIT @limit`,
    );
    const iterate = () => stmt.iterate(params) as IterableIterator<IntentRow & { bytes: number }>;
    const { rows, cut } =
      maxBytes === undefined
        ? { rows: [...iterate()], cut: false }
        : takeBytes(iterate(), maxBytes);
    const limit = params.limit as number;
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
  ): IntentWrite | NotFound | VersionConflict | StateTooLarge | KeyReused {
    return this.#events.transaction(() => {
      const current = this.get(org, id);
      if (!current) return NOT_FOUND;
      const replay = this.#replay(
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
      const { state, json, changedKeys } = merged;
      const now = new Date();
      // The version guard makes the check and the write one statement: even a second writer
      // on another connection (or a future multi-process store) cannot slip in between.
      const { changes } = this.#db
        .prepare(
          "UPDATE intents SET state = ?, version = version + 1, updated_at = ? WHERE org = ? AND id = ? AND version = ?",
        )
        .run(json, now.toISOString(), org, id, current.version);
      if (changes === 0) {
        return {
          error: "conflict" as const,
          currentVersion: this.get(org, id)?.version ?? current.version,
        };
      }
      const intent = this.get(org, id)!;
      const payload: StateChangedPayload = {
        version: intent.version,
        patch,
        changedKeys,
        state,
      };
      const event = this.#log(
        org,
        intent,
        IntentEventTypes.StateChanged,
        payload,
        options.actor,
        now,
        options.key,
      );
      return { intent, events: [event] };
    });
  }

  setStatus(
    org: string,
    id: string,
    change: StatusChange,
  ): IntentWrite | NotFound | InvalidTransition | VersionConflict | KeyReused {
    return this.#events.transaction(() => {
      const current = this.get(org, id);
      if (!current) return NOT_FOUND;
      const replay = this.#replay(
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
      this.#db
        .prepare(
          "UPDATE intents SET status = ?, version = version + 1, updated_at = ? WHERE org = ? AND id = ? AND version = ?",
        )
        .run(change.status, now.toISOString(), org, id, current.version);
      const intent = this.get(org, id)!;
      const payload: StatusChangedPayload = {
        version: intent.version,
        from: current.status,
        to: change.status,
      };
      if (change.reason !== undefined) payload.reason = change.reason;
      const event = this.#log(
        org,
        intent,
        IntentEventTypes.StatusChanged,
        payload,
        change.actor,
        now,
        change.key,
      );
      return { intent, events: [event] };
    });
  }

  assign(
    org: string,
    id: string,
    agent: string,
    { actor, ifMatch }: AssignOptions,
    on: boolean,
  ): IntentWrite | NotFound | VersionConflict {
    return this.#events.transaction(() => {
      const current = this.get(org, id);
      if (!current) return NOT_FOUND;
      const conflict = versionConflict(current, ifMatch);
      if (conflict) return conflict;
      const now = new Date();
      const { changes } = on
        ? this.#db
            .prepare(
              "INSERT OR IGNORE INTO intent_assignees (org, intent_id, agent, assigned_at) VALUES (?, ?, ?, ?)",
            )
            .run(org, id, agent, now.toISOString())
        : this.#db
            .prepare("DELETE FROM intent_assignees WHERE org = ? AND intent_id = ? AND agent = ?")
            .run(org, id, agent);
      if (changes > 0) {
        this.#db
          .prepare("UPDATE intents SET updated_at = ? WHERE org = ? AND id = ?")
          .run(now.toISOString(), org, id);
      }
      const intent = this.get(org, id)!;
      if (changes === 0) return { intent, events: [] };
      const type = on ? IntentEventTypes.Assigned : IntentEventTypes.Unassigned;
      return { intent, events: [this.#log(org, intent, type, { agent }, actor, now)] };
    });
  }

  appendEvent(org: string, id: string, event: NewEvent): IntentWrite | NotFound {
    return this.#events.transaction(() => {
      const intent = this.get(org, id);
      if (!intent) return NOT_FOUND;
      const stored = this.#events.insertOne(org, { ...event, intentId: id }, new Date());
      return { intent, events: stored ? [stored] : [] };
    });
  }

  /** A keyed write's replay or refusal when its key is taken; `undefined` when it is new. */
  #replay(
    org: string,
    key: string | undefined,
    id: string,
    type: string,
    same: SameWrite,
  ): IntentWrite | KeyReused | undefined {
    if (key === undefined) return undefined;
    return replayOf(this.#events.keyed(org, key), this.get(org, id), type, same);
  }

  #log(
    org: string,
    intent: Intent,
    type: string,
    payload: object,
    actor: string | undefined,
    at: Date,
    key?: string,
  ): ChorusEvent {
    // A fresh UUIDv7 cannot collide, and a key was checked in this transaction (`#replay`): the
    // insert always stores.
    return this.#events.insertOne(org, intentLogEvent(intent, type, payload, actor, at, key), at)!;
  }
}
