import type Database from "better-sqlite3";

/**
 * Forward-only schema migrations. Each runs once, in a transaction, and is recorded in
 * `schema_migrations`; a database from an older hub is brought up to date on open.
 */
export const MIGRATIONS: readonly { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
      -- AUTOINCREMENT: seq is never reused, even after retention deletes the newest rows,
      -- so a client's resume cursor can never point at a different event.
      CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        org TEXT NOT NULL,
        id TEXT NOT NULL,
        channel TEXT NOT NULL,
        env TEXT NOT NULL,
        app TEXT,
        type TEXT NOT NULL,
        agent TEXT,
        trace_id TEXT,
        span_id TEXT,
        parent_span_id TEXT,
        intent_id TEXT,
        payload TEXT NOT NULL,
        metadata TEXT NOT NULL,
        occurred_at TEXT NOT NULL,
        received_at TEXT NOT NULL,
        received_ms INTEGER NOT NULL
      );
      CREATE UNIQUE INDEX events_org_id ON events (org, id);
      CREATE INDEX events_org_channel ON events (org, channel, seq);
      CREATE INDEX events_org_type ON events (org, type, seq);
      CREATE INDEX events_org_agent ON events (org, agent, seq) WHERE agent IS NOT NULL;
      CREATE INDEX events_org_trace ON events (org, trace_id, seq) WHERE trace_id IS NOT NULL;
      CREATE INDEX events_org_intent ON events (org, intent_id, seq) WHERE intent_id IS NOT NULL;
      CREATE INDEX events_received ON events (received_ms);

      CREATE TABLE intents (
        org TEXT NOT NULL,
        id TEXT NOT NULL,
        title TEXT NOT NULL,
        description TEXT,
        status TEXT NOT NULL,
        state TEXT NOT NULL,
        version INTEGER NOT NULL,
        portfolio TEXT,
        parent_id TEXT,
        created_by TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (org, id)
      );
      CREATE INDEX intents_org_status ON intents (org, status);
      CREATE INDEX intents_org_portfolio ON intents (org, portfolio) WHERE portfolio IS NOT NULL;

      CREATE TABLE intent_assignees (
        org TEXT NOT NULL,
        intent_id TEXT NOT NULL,
        agent TEXT NOT NULL,
        assigned_at TEXT NOT NULL,
        PRIMARY KEY (org, intent_id, agent),
        FOREIGN KEY (org, intent_id) REFERENCES intents (org, id) ON DELETE CASCADE
      );
      CREATE INDEX intent_assignees_agent ON intent_assignees (org, agent);
    `,
  },
  {
    version: 2,
    sql: `
      -- The store's epoch: a random id made with the database and kept with it. Clients keep
      -- it with their seq cursor; a different epoch means seqs restarted (a new database).
      CREATE TABLE chorus_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      INSERT INTO chorus_meta (key, value) VALUES ('epoch', lower(hex(randomblob(16))));
    `,
  },
  {
    version: 3,
    sql: `
      -- Presence (see store/types.ts, PresenceStore): the agent streams each hub holds, under
      -- a lease the hub renews by moving seen_ms.
      CREATE TABLE agent_presence (
        org TEXT NOT NULL,
        agent TEXT NOT NULL,
        hub TEXT NOT NULL,
        streams INTEGER NOT NULL,
        seen_ms INTEGER NOT NULL,
        PRIMARY KEY (org, agent, hub)
      );
      CREATE INDEX agent_presence_hub ON agent_presence (hub);
    `,
  },
];

/** The store's epoch (see migration 2). */
export function readEpoch(db: Database.Database): string {
  const row = db.prepare("SELECT value FROM chorus_meta WHERE key = 'epoch'").get() as {
    value: string;
  };
  return row.value;
}

export function migrate(db: Database.Database): number {
  db.exec(
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
  );
  const row = db.prepare("SELECT MAX(version) AS v FROM schema_migrations").get() as {
    v: number | null;
  };
  const current = row.v ?? 0;
  const record = db.prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)");
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.version, new Date().toISOString());
    })();
  }
  return MIGRATIONS.at(-1)?.version ?? 0;
}
