import { randomBytes } from "node:crypto";
import pg from "pg";
import { inject } from "vitest";
import { PgStore } from "../src/store/pg.js";
import { SqliteStore } from "../src/store/sqlite.js";
import type { Store } from "../src/store/types.js";

/**
 * Which store this test run exercises: the hub's vitest config runs every store and hub suite
 * twice, as the `sqlite` and the `postgres` project (see vitest.config.ts). Tests ask here for
 * a store or a hub database instead of naming one.
 */
export const STORE_KIND: "sqlite" | "postgres" =
  process.env.CHORUS_TEST_STORE === "postgres" ? "postgres" : "sqlite";

/** A new, empty, migrated database for one store or hub: `:memory:`, or a Postgres URL. */
export async function freshDb(): Promise<string> {
  if (STORE_KIND === "sqlite") return ":memory:";
  const admin = inject("pgAdminUrl");
  const name = `t_${randomBytes(6).toString("hex")}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    // A copy of the migrated template: milliseconds instead of running migrations again.
    await client.query(`CREATE DATABASE ${name} TEMPLATE chorus_template`);
  } finally {
    await client.end();
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A store on a fresh database of the kind under test. */
export async function openTestStore(): Promise<Store> {
  const db = await freshDb();
  return STORE_KIND === "postgres" ? PgStore.open(db) : SqliteStore.open(db);
}

/**
 * A connected client on the cluster's `postgres` database, to act on a test database from
 * outside the hub (terminate its backends, close it to connections), and that database's name.
 */
export async function adminOf(db: string): Promise<{ admin: pg.Client; name: string }> {
  const name = new URL(db).pathname.slice(1);
  const admin = new pg.Client({ connectionString: db.replace(`/${name}`, "/postgres") });
  await admin.connect();
  return { admin, name };
}
