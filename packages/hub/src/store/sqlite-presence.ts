import type Database from "better-sqlite3";
import type { PresenceEntry, PresenceHold } from "./types.js";

/** The presence rows of the SQLite store (see `Store.setPresence` for what they mean). */
export class PresenceTable {
  readonly #set: Database.Statement;
  readonly #renew: Database.Statement;
  readonly #release: Database.Statement;
  readonly #list: Database.Statement;
  readonly #prune: Database.Statement;

  constructor(db: Database.Database) {
    this.#set = db.prepare(
      `INSERT INTO agent_presence (org, agent, hub, streams, seen_ms)
       VALUES (@org, @agent, @hub, @streams, @now)
       ON CONFLICT (org, agent, hub) DO UPDATE SET streams = excluded.streams,
         seen_ms = max(agent_presence.seen_ms, excluded.seen_ms)`,
    );
    this.#renew = db.prepare(
      "UPDATE agent_presence SET seen_ms = max(seen_ms, @now) WHERE hub = @hub AND streams > 0",
    );
    this.#release = db.prepare(
      "UPDATE agent_presence SET streams = 0, seen_ms = max(seen_ms, @now) WHERE hub = @hub AND streams > 0",
    );
    this.#list = db.prepare(
      `SELECT agent, max(streams > 0 AND seen_ms >= @since) AS online, max(seen_ms) AS seen
       FROM agent_presence WHERE org = @org
       GROUP BY agent ORDER BY online DESC, seen DESC, agent LIMIT @limit`,
    );
    this.#prune = db.prepare(
      `DELETE FROM agent_presence
       WHERE NOT (streams > 0 AND seen_ms >= @since)
         AND EXISTS (SELECT 1 FROM agent_presence AS newer
           WHERE newer.org = agent_presence.org AND newer.agent = agent_presence.agent
             AND (newer.seen_ms > agent_presence.seen_ms
               OR (newer.seen_ms = agent_presence.seen_ms AND newer.hub > agent_presence.hub)))`,
    );
  }

  set(hold: PresenceHold, now: number): void {
    this.#set.run({ ...hold, now });
  }

  renew(hub: string, now: number): void {
    this.#renew.run({ hub, now });
  }

  release(hub: string, now: number): void {
    this.#release.run({ hub, now });
  }

  list(org: string, since: number, limit: number): PresenceEntry[] {
    const rows = this.#list.all({ org, since, limit }) as {
      agent: string;
      online: number;
      seen: number;
    }[];
    return rows.map((r) => ({ agent: r.agent, online: r.online === 1, lastSeenMs: r.seen }));
  }

  prune(since: number): number {
    return this.#prune.run({ since }).changes;
  }
}
