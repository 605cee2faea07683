import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createHub } from "../src/hub.js";

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const start = (db: string) =>
  createHub({ port: 0, mqttPort: false, db, apiKeys: [], logger: false });

describe("the dev key", () => {
  it("is kept beside the SQLite file (mode 0600) and reused on restart, so clients keep working", async () => {
    dir = mkdtempSync(join(tmpdir(), "chorus-devkey-"));
    const db = join(dir, "hub.db");
    const first = await start(db);
    const key = first.devKey;
    expect(key).toMatch(/^dev_[A-Za-z0-9_-]{24}$/);
    await first.close();
    expect(statSync(`${db}.dev-key`).mode & 0o777).toBe(0o600);

    const second = await start(db);
    try {
      expect(second.devKey).toBe(key);
      const res = await fetch(`${second.url}/v1/events?channel=x`, {
        headers: { authorization: `Bearer ${key}` },
      });
      expect(res.status).toBe(200);
    } finally {
      await second.close();
    }
  });

  it("replaces a file that does not hold a dev key, and stays fresh per start in memory", async () => {
    dir = mkdtempSync(join(tmpdir(), "chorus-devkey-"));
    const db = join(dir, "hub.db");
    writeFileSync(`${db}.dev-key`, "garbage\n", { mode: 0o644 });
    const hub = await start(db);
    await hub.close();
    expect(hub.devKey).toMatch(/^dev_/);
    expect(statSync(`${db}.dev-key`).mode & 0o777).toBe(0o600);

    const a = await start(":memory:");
    const b = await start(":memory:");
    await Promise.all([a.close(), b.close()]);
    expect(a.devKey).not.toBe(b.devKey);
  });
});
