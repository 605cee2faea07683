import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Hub } from "../src/index.js";
import { api, startTestHub } from "./helpers.js";

describe("the web console at /", () => {
  let dir: string;
  let hub: Hub;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "chorus-console-"));
    writeFileSync(join(dir, "index.html"), "<!doctype html><title>Chorus</title>");
    writeFileSync(join(dir, "app.js"), "console.log(1)");
    hub = await startTestHub({ consoleDir: dir });
  });
  afterAll(async () => {
    await hub.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves the page and its assets without a key", async () => {
    const page = await api(hub, "/", { key: null });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(page.body).toContain("<title>Chorus</title>");
    const script = await api(hub, "/app.js", { key: null });
    expect(script.status).toBe(200);
    expect(script.headers.get("content-type")).toMatch(/javascript/);
    expect(script.headers.get("referrer-policy")).toBe("no-referrer");
  });

  it("lets no other site frame the page, and nothing but its own files run in it", async () => {
    const page = await api(hub, "/", { key: null });
    const policy = page.headers.get("content-security-policy") ?? "";
    expect(policy).toContain("frame-ancestors 'none'");
    expect(policy).toContain("default-src 'self'");
    expect(policy).not.toContain("unsafe-inline");
    expect(page.headers.get("x-frame-options")).toBe("DENY");
  });

  it("leaves the API's JSON errors as they were", async () => {
    for (const path of ["/v1/nope", "/nope.js", "/../package.json"]) {
      const res = await api(hub, path, { key: null });
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe("not_found");
    }
    expect((await api(hub, "/v1/events", { key: null })).status).toBe(401);
  });
});

describe("a hub without a console", () => {
  it("answers / with the JSON 404, whether unset or not built", async () => {
    const missing = join(tmpdir(), "chorus-console-never-built");
    for (const consoleDir of [undefined, missing]) {
      const hub = await startTestHub({ consoleDir });
      try {
        const res = await api(hub, "/", { key: null });
        expect(res.status).toBe(404);
        expect(res.body.error.code).toBe("not_found");
        expect((await api(hub, "/healthz", { key: null })).status).toBe(200);
      } finally {
        await hub.close();
      }
    }
  });
});
