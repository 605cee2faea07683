import type { Pool } from "pg";
import type { PresenceEntry, PresenceHold } from "./types.js";

/*
 * The presence rows of the Postgres store (see `Store.setPresence` for what they mean): the
 * same statements as `sqlite-presence.ts`. Every hub writes only its own rows, so two hubs never
 * contend for one row; a reader sees every hub's. A write that changes who holds what notifies
 * {@link PRESENCE_CHANNEL} with the org, so the other hubs' live `GET /v1/agents` streams look
 * again at once (`PgCommitSignal` listens).
 */

/** The channel presence changes are `NOTIFY`d on; the payload is the org. */
export const PRESENCE_CHANNEL = "chorus_presence";

export async function setPresence(pool: Pool, hold: PresenceHold, now: number): Promise<void> {
  await pool.query(
    `WITH written AS (
       INSERT INTO agent_presence (org, agent, hub, streams, seen_ms) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (org, agent, hub) DO UPDATE SET streams = excluded.streams,
         seen_ms = GREATEST(agent_presence.seen_ms, excluded.seen_ms)
       RETURNING org)
     SELECT pg_notify($6, org) FROM written`,
    [hold.org, hold.agent, hold.hub, hold.streams, now, PRESENCE_CHANNEL],
  );
}

export async function renewPresence(pool: Pool, hub: string, now: number): Promise<void> {
  await pool.query(
    "UPDATE agent_presence SET seen_ms = GREATEST(seen_ms, $2) WHERE hub = $1 AND streams > 0",
    [hub, now],
  );
}

export async function releasePresence(pool: Pool, hub: string, now: number): Promise<void> {
  await pool.query(
    `WITH released AS (
       UPDATE agent_presence SET streams = 0, seen_ms = GREATEST(seen_ms, $2)
       WHERE hub = $1 AND streams > 0 RETURNING org)
     SELECT pg_notify($3, org) FROM (SELECT DISTINCT org FROM released) AS orgs`,
    [hub, now, PRESENCE_CHANNEL],
  );
}

export async function listPresence(
  pool: Pool,
  org: string,
  since: number,
  limit: number,
): Promise<PresenceEntry[]> {
  const { rows } = await pool.query<{ agent: string; online: boolean; seen: number }>(
    `SELECT agent, bool_or(streams > 0 AND seen_ms >= $2) AS online, max(seen_ms) AS seen
     FROM agent_presence WHERE org = $1
     GROUP BY agent ORDER BY online DESC, seen DESC, agent LIMIT $3`,
    [org, since, limit],
  );
  return rows.map((r) => ({ agent: r.agent, online: r.online, lastSeenMs: r.seen }));
}

export async function prunePresence(pool: Pool, since: number): Promise<number> {
  const result = await pool.query(
    `DELETE FROM agent_presence AS old
     WHERE NOT (old.streams > 0 AND old.seen_ms >= $1)
       AND EXISTS (SELECT 1 FROM agent_presence AS newer
         WHERE newer.org = old.org AND newer.agent = old.agent
           AND (newer.seen_ms > old.seen_ms
             OR (newer.seen_ms = old.seen_ms AND newer.hub > old.hub)))`,
    [since],
  );
  return result.rowCount ?? 0;
}
