import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";

// Proves what ships: the built dist loads through both module systems.
describe("built dist", () => {
  it("loads with require()", () => {
    const require = createRequire(import.meta.url);
    const mod = require("@chorus/protocol");
    expect(mod.eventTopic("o", { channel: "c", type: "t" })).toBe("chorus/o/default/c/_/t/_");
    expect(mod.EventTypes.ToolStart).toBe("tool.start");
  });
  it("loads with import()", async () => {
    const mod = await import("@chorus/protocol");
    expect(mod.ErrorCodes.NotFound).toBe("not_found");
    expect(typeof mod.eventInputSchema.parse).toBe("function");
  });
});
