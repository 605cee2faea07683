import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";

describe("built dist", () => {
  it("loads with require() and import()", async () => {
    const require = createRequire(import.meta.url);
    const cjs = require("@chorus/cli");
    expect(typeof cjs.main).toBe("function");
    const esm = await import("@chorus/cli");
    expect(esm.ExitCode.Unreachable).toBe(3);
  });
});
