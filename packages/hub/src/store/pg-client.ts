import type { Pool, PoolClient } from "pg";

/** The message of `pg`'s error when `query_timeout` passes. */
export const QUERY_READ_TIMEOUT = "Query read timeout";

/**
 * Run `work` on a client checked out of `pool`, and give it back.
 *
 * `pg-pool` listens for a client's errors only while it sits idle in the pool; once checked out,
 * an error that arrives between two queries (Postgres terminating the connection in a failover,
 * a reset socket) is an `error` event nobody listens to, which Node turns into an uncaught
 * exception: the hub process would die in the middle of a transaction (or as it connects: a
 * FATAL can arrive in the same read as the connection's ReadyForQuery). While `work` runs, such an
 * error is kept here instead (the next query on the client fails with it anyway), and the client
 * is handed back with it, so the pool destroys it rather than lending it out again.
 */
export async function withClient<T>(
  pool: Pool,
  work: (client: PoolClient) => Promise<T>,
): Promise<T> {
  let broken: Error | undefined;
  const onError = (error: Error) => {
    broken ??= error;
  };
  // The callback form: the pool calls it in the same turn as it stops listening, so the
  // listener is on before any later message of the same socket read is parsed (a promise would
  // resume a microtask later, after a FATAL that arrived with ReadyForQuery had been emitted).
  const client = await new Promise<PoolClient>((resolve, reject) => {
    pool.connect((error, checkedOut) => {
      if (error || !checkedOut) return reject(error ?? new Error("no client from the pool"));
      checkedOut.on("error", onError);
      resolve(checkedOut);
    });
  });
  try {
    return await work(client);
  } catch (error) {
    // A query the hub stopped waiting for is still running on this connection: not reusable.
    if (error instanceof Error && error.message === QUERY_READ_TIMEOUT) broken ??= error;
    throw error;
  } finally {
    client.removeListener("error", onError);
    client.release(broken);
  }
}
