import type { Pool } from "pg";
import { describe, expect, it } from "vitest";
import { GroupCommit } from "../src/store/pg-events.js";
import type { NewEvent } from "../src/store/types.js";

const event = (id: string): NewEvent => ({
  id,
  channel: "c",
  env: "default",
  type: "custom",
  payload: {},
  metadata: {},
  occurredAt: new Date().toISOString(),
});

/** A pool whose every connect fails as `pg` does when the server is away (callback form). */
function unreachablePool() {
  const pool = {
    connects: 0,
    connect: (callback: (error: Error) => void) => {
      pool.connects++;
      const error = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), {
        code: "ECONNREFUSED",
      });
      setImmediate(() => callback(error));
    },
  };
  return pool;
}

describe("group commit on Postgres", () => {
  it("with the database away a queued group fails at once, not one connect per request", async () => {
    const pool = unreachablePool();
    const writer = new GroupCommit(pool as unknown as Pool);
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) => writer.insert("acme", [event(`e-${i}`)])),
    );
    expect(results.every((r) => r.status === "rejected")).toBe(true);
    expect((results[5] as PromiseRejectedResult).reason.code).toBe("ECONNREFUSED");
    // The first request goes alone, the five that queued behind it go as one group: two
    // connects. Retrying the group one by one would make it six, each waiting its timeout.
    expect(pool.connects).toBe(2);
  });
});
