import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";

// Proves what ships: the built dist loads through both module systems and works.
describe("built dist", () => {
  it("loads with require()", () => {
    const require = createRequire(import.meta.url);
    const mod = require("@chorus/core");
    const chorus = new mod.Chorus({ logger: false, drainOnExit: false, apiKey: "k" });
    expect(typeof chorus.emit({ type: "custom" })).toBe("string");
    expect(chorus.stats().queued).toBe(1);
    expect(new mod.ConflictError("x", { currentVersion: 3 }).code).toBe("conflict");
    return chorus.close(0);
  });

  it("loads with import()", async () => {
    // A variable specifier: typechecking must not need a built dist.
    const specifier = "@chorus/core";
    const mod = await import(specifier);
    expect(
      mod.parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")?.sampled,
    ).toBe(true);
    expect(mod.EventTypes.ToolStart).toBe("tool.start");
    expect(new mod.ValidationError("bad", { field: "channel" }).field).toBe("channel");
  });
});
