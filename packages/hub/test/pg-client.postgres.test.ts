import pg from "pg";
import { afterEach, expect, test } from "vitest";
import { withClient } from "../src/store/pg-client.js";
import { freshDb } from "./store-under-test.js";

// A Postgres connection checked out of the pool dies between two queries (a failover, an
// administrator terminating backends): the hub must see a failed transaction, not die.

const pools: pg.Pool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.end()));
});

test("a checked-out connection terminated between queries is no uncaught error, and the pool lends a live one next", async () => {
  const db = await freshDb();
  const pool = new pg.Pool({ connectionString: db, max: 1 });
  pool.on("error", () => {}); // as the hub's store does, for idle clients
  pools.push(pool);
  const admin = new pg.Client({ connectionString: db });
  await admin.connect();
  try {
    const failed = withClient(pool, async (client) => {
      const { rows } = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
      const gone = new Promise<void>((resolve) => client.once("end", () => resolve()));
      await admin.query("SELECT pg_terminate_backend($1)", [rows[0]?.pid]);
      await gone; // the connection ended while no query was running on it
      await client.query("SELECT 1"); // what the transaction's next statement meets
    });
    await expect(failed).rejects.toThrow();
    // The dead client was not put back: the pool (of one) connects anew.
    const { rows } = await pool.query<{ ok: number }>("SELECT 1 AS ok");
    expect(rows[0]?.ok).toBe(1);
  } finally {
    await admin.end();
  }
});
