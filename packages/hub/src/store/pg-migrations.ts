import type { Pool, PoolClient, QueryConfig } from "pg";
import { withClient } from "./pg-client.js";

/**
 * Advisory lock keys of the hub. Migrations and retention pruning must run on one hub at a time
 * when several share a database; each takes its own key.
 */
export const LOCK_MIGRATE = 74_20_01;
export const LOCK_PRUNE = 74_20_02;

/**
 * Forward-only schema of the Postgres store, the same tables and indexes as SQLite's (see
 * `migrations.ts`) with one addition: `chorus_seq`, the counter row every writer locks.
 *
 * Why a counter row and not a SEQUENCE: a sequence hands out numbers at insert time, but
 * transactions commit in any order, so a reader could see seq 12 committed while 11 is still
 * in flight, advance its cursor past 11, and never see it (the classic outbox gap). Here a
 * write takes the row lock (`SELECT … FOR UPDATE`), numbers its events from the counter,
 * inserts them, moves the counter and commits; the next writer, on this hub or another, waits
 * for that commit before it can number anything. So seq order is commit order: whatever a
 * reader sees is a prefix with no hole that a later commit could fill, and `readAfter` needs
 * no horizon. The cost is that writes are serialized across hubs for the span of one
 * transaction (one batch insert); reads are never blocked.
 */
export const PG_MIGRATIONS: readonly { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE chorus_seq (
        id integer PRIMARY KEY CHECK (id = 1),
        value bigint NOT NULL
      );
      INSERT INTO chorus_seq (id, value) VALUES (1, 0);

      CREATE TABLE events (
        seq bigint PRIMARY KEY,
        org text NOT NULL,
        id text NOT NULL,
        channel text NOT NULL,
        env text NOT NULL,
        app text,
        type text NOT NULL,
        agent text,
        trace_id text,
        span_id text,
        parent_span_id text,
        intent_id text,
        payload text NOT NULL,
        metadata text NOT NULL,
        occurred_at text NOT NULL,
        received_at text NOT NULL,
        received_ms bigint NOT NULL
      );
      CREATE UNIQUE INDEX events_org_id ON events (org, id);
      CREATE INDEX events_org_channel ON events (org, channel, seq);
      CREATE INDEX events_org_type ON events (org, type, seq);
      CREATE INDEX events_org_agent ON events (org, agent, seq) WHERE agent IS NOT NULL;
      CREATE INDEX events_org_trace ON events (org, trace_id, seq) WHERE trace_id IS NOT NULL;
      CREATE INDEX events_org_intent ON events (org, intent_id, seq) WHERE intent_id IS NOT NULL;
      CREATE INDEX events_received ON events (received_ms);

      CREATE TABLE intents (
        pos bigserial UNIQUE,
        org text NOT NULL,
        id text NOT NULL,
        title text NOT NULL,
        description text,
        status text NOT NULL,
        state text NOT NULL,
        version integer NOT NULL,
        portfolio text,
        parent_id text,
        created_by text,
        created_at text NOT NULL,
        updated_at text NOT NULL,
        PRIMARY KEY (org, id)
      );
      CREATE INDEX intents_org_status ON intents (org, status);
      CREATE INDEX intents_org_portfolio ON intents (org, portfolio) WHERE portfolio IS NOT NULL;

      CREATE TABLE intent_assignees (
        pos bigserial,
        org text NOT NULL,
        intent_id text NOT NULL,
        agent text NOT NULL,
        assigned_at text NOT NULL,
        PRIMARY KEY (org, intent_id, agent),
        FOREIGN KEY (org, intent_id) REFERENCES intents (org, id) ON DELETE CASCADE
      );
      CREATE INDEX intent_assignees_agent ON intent_assignees (org, agent);
    `,
  },
  {
    version: 2,
    sql: `
      -- The store's epoch: a random id made with the database and kept with it (see the
      -- SQLite migration 2).
      CREATE TABLE chorus_meta (key text PRIMARY KEY, value text NOT NULL);
      INSERT INTO chorus_meta (key, value) VALUES ('epoch', replace(gen_random_uuid()::text, '-', ''));
    `,
  },
  {
    version: 3,
    sql: `
      -- One event write in one round trip (see insertGroupTx in pg-events.ts): take the counter
      -- lock, skip ids the org already has, number and insert the rest, move the counter and
      -- notify the commit. Each statement of a plpgsql function takes a fresh snapshot, so the
      -- duplicate check runs after the lock is held and sees every earlier writer's commit.
      -- The caller removes duplicates within the group. Returns each inserted input's
      -- position (1-based) and seq.
      CREATE FUNCTION chorus_insert_events(
        p_org text[], p_id text[], p_channel text[], p_env text[], p_app text[], p_type text[],
        p_agent text[], p_trace_id text[], p_span_id text[], p_parent_span_id text[],
        p_intent_id text[], p_payload text[], p_metadata text[], p_occurred_at text[],
        p_received_at text, p_received_ms bigint, p_channel_name text
      ) RETURNS TABLE (ord bigint, seq bigint) LANGUAGE plpgsql VOLATILE AS $fn$
      DECLARE
        base bigint;
        n bigint;
      BEGIN
        SELECT value INTO base FROM chorus_seq WHERE id = 1 FOR UPDATE;
        RETURN QUERY
          WITH input AS (
            SELECT * FROM unnest(p_org, p_id, p_channel, p_env, p_app, p_type, p_agent,
              p_trace_id, p_span_id, p_parent_span_id, p_intent_id, p_payload, p_metadata,
              p_occurred_at) WITH ORDINALITY
              AS t(org, id, channel, env, app, type, agent, trace_id, span_id, parent_span_id,
                intent_id, payload, metadata, occurred_at, pos)
          ), numbered AS (
            SELECT base + row_number() OVER (ORDER BY i.pos) AS new_seq, i.*
            FROM input i
            WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.org = i.org AND e.id = i.id)
          ), inserted AS (
            INSERT INTO events (seq, org, id, channel, env, app, type, agent, trace_id, span_id,
              parent_span_id, intent_id, payload, metadata, occurred_at, received_at, received_ms)
            SELECT new_seq, org, id, channel, env, app, type, agent, trace_id, span_id,
              parent_span_id, intent_id, payload, metadata, occurred_at, p_received_at,
              p_received_ms
            FROM numbered
          )
          SELECT numbered.pos, numbered.new_seq FROM numbered;
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n > 0 THEN
          UPDATE chorus_seq SET value = base + n WHERE id = 1;
          -- Delivered to every listening hub when (and only if) the transaction commits.
          PERFORM pg_notify(p_channel_name, (base + n)::text);
        END IF;
      END
      $fn$;
    `,
  },
  {
    version: 4,
    sql: `
      -- Presence: the agent streams each hub holds, under a lease (the SQLite migration 3).
      CREATE TABLE agent_presence (
        org text NOT NULL,
        agent text NOT NULL,
        hub text NOT NULL,
        streams integer NOT NULL,
        seen_ms bigint NOT NULL,
        PRIMARY KEY (org, agent, hub)
      );
      CREATE INDEX agent_presence_hub ON agent_presence (hub);
    `,
  },
];

/** `query_timeout` of the migration's own statements (`pg` takes 0 as "the pool's"): a day. */
const MIGRATION_READ_TIMEOUT_MS = 24 * 60 * 60 * 1000;

/**
 * Bring the database up to date, under a session advisory lock so that hubs starting together
 * migrate once: the second waits for the first and then finds nothing to do.
 */
export async function migratePg(pool: Pool): Promise<number> {
  await withClient(pool, async (client) => {
    // Another hub may hold the lock while it migrates, and a migration may rebuild a large
    // table: neither is bounded by the pool's statement and read timeouts.
    await client.query("SET statement_timeout = 0");
    await client.query({
      text: "SELECT pg_advisory_lock($1)",
      values: [LOCK_MIGRATE],
      query_timeout: MIGRATION_READ_TIMEOUT_MS,
    } as QueryConfig);
    try {
      await client.query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at text NOT NULL)",
      );
      const { rows } = await client.query<{ v: number | null }>(
        "SELECT MAX(version) AS v FROM schema_migrations",
      );
      const current = rows[0]?.v ?? 0;
      for (const m of PG_MIGRATIONS) {
        if (m.version <= current) continue;
        await inTransaction(client, async () => {
          await client.query({
            text: m.sql,
            query_timeout: MIGRATION_READ_TIMEOUT_MS,
          } as QueryConfig);
          await client.query(
            "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
            [m.version, new Date().toISOString()],
          );
        });
      }
    } finally {
      await client.query("SELECT pg_advisory_unlock($1)", [LOCK_MIGRATE]);
      await client.query("RESET statement_timeout"); // back to the pool's, for the next user
    }
  });
  return PG_MIGRATIONS.at(-1)?.version ?? 0;
}

/** Run `work` in a transaction on `client`: COMMIT on success, ROLLBACK on any error. */
export async function inTransaction<T>(client: PoolClient, work: () => Promise<T>): Promise<T> {
  await client.query("BEGIN");
  try {
    const result = await work();
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
}
