import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";

// Proves what ships: the built dist loads through both module systems.
describe("built dist", () => {
  it("loads with require()", () => {
    const require = createRequire(import.meta.url);
    const mod = require("@chorus/openai-agents");
    expect(typeof mod.instrument).toBe("function");
    expect(Object.keys(mod)).toEqual(["instrument"]);
  });
  it("loads with import()", async () => {
    const mod = await import("@chorus/openai-agents");
    expect(typeof mod.instrument).toBe("function");
  });
});
