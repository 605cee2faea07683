import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";

// Proves what ships: the built dist loads through both module systems and starts a hub.
describe("built dist", () => {
  it("loads with require() and serves /healthz", async () => {
    const require = createRequire(import.meta.url);
    const { createHub } = require("@chorus/hub") as typeof import("../src/index.js");
    const hub = await createHub({ port: 0, mqttPort: false, db: ":memory:", logger: false });
    try {
      expect((await fetch(`${hub.url}/healthz`)).status).toBe(200);
    } finally {
      await hub.close();
    }
  });
  it("loads with import()", async () => {
    const mod = await import("@chorus/hub");
    expect(typeof mod.createHub).toBe("function");
    expect(mod.parseDuration("7d")).toBe(7 * 86_400_000);
  });
});
