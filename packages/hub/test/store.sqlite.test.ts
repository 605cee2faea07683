import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createHub } from "../src/index.js";
import { SqliteStore } from "../src/store/sqlite.js";
import type { NewEvent } from "../src/store/types.js";

const ev = (id: string): NewEvent => ({
  id,
  channel: "research",
  env: "default",
  type: "tool.start",
  payload: {},
  metadata: {},
  occurredAt: "2026-11-24T00:00:00.000Z",
});

describe("on disk", () => {
  it("migrates once and keeps data and seq across reopen", async () => {
    const dir = mkdtempSync(join(tmpdir(), "chorus-store-"));
    try {
      const path = join(dir, "hub.db");
      const a = SqliteStore.open(path);
      await a.insertEvents("acme", [ev("a")]);
      await a.close();
      const b = SqliteStore.open(path);
      expect((await b.insertEvents("acme", [ev("a"), ev("b")])).inserted.map((e) => e.seq)).toEqual(
        [2],
      );
      expect(await b.ping()).toBe(true);
      await b.close();
      expect(await b.ping()).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the database's directory", () => {
  it("is made level by level, and a path that cannot be made is refused instead of hanging", async () => {
    const dir = mkdtempSync(join(tmpdir(), "chorus-dirs-"));
    try {
      const hub = await createHub({ port: 0, db: join(dir, "a", "b", "c", "hub.db") });
      await hub.close();
      // Node 20's recursive mkdir never returns under /proc: the hub hung at 100 % CPU.
      await expect(
        createHub({ port: 0, db: "/proc/chorus-not-a-dir/deeper/hub.db" }),
      ).rejects.toMatchObject({ code: "ENOENT" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("one hub per SQLite file", () => {
  it("refuses a second hub on the same file, naming Postgres, and allows it once the first closed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "chorus-store-"));
    try {
      const db = join(dir, "hub.db");
      const first = await createHub({ port: 0, mqttPort: false, db, logger: false });
      await expect(createHub({ port: 0, mqttPort: false, db, logger: false })).rejects.toThrow(
        /another hub is already using .*hub\.db.*Postgres.*CHORUS_DB=postgres/,
      );
      await first.close();
      const second = await createHub({ port: 0, mqttPort: false, db, logger: false });
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
