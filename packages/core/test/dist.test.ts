import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
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

describe("source entry", () => {
  // The benches load src/index.ts as plain ESM (tsx); vitest's module runner binds imports
  // lazily and would not notice a cycle that leaves a constant uninitialized there.
  it("loads as plain ESM under tsx, as the benches load it", () => {
    const entry = fileURLToPath(new URL("../src/index.ts", import.meta.url));
    const run = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "--input-type=module",
        "-e",
        `const m = await import(${JSON.stringify(entry)}); const c = new m.Chorus({ logger: false, drainOnExit: false, apiKey: "k" }); c.emit({ type: "custom" }); await c.close(0); console.log("ok");`,
      ],
      { encoding: "utf8", cwd: fileURLToPath(new URL("..", import.meta.url)) },
    );
    expect(run.stderr).toBe("");
    expect(run.stdout.trim()).toBe("ok");
  });
});
