import { createRequire } from "node:module";
import { Chorus } from "@chorus/core";
import { describe, expect, it } from "vitest";

// Proves what ships: the built dist loads through both module systems.
describe("built dist", () => {
  const require = createRequire(import.meta.url);

  it("loads with require()", () => {
    const mod = require("@chorus/openai-agents");
    expect(typeof mod.instrument).toBe("function");
    expect(Object.keys(mod)).toEqual(["instrument"]);
  });

  it("loads with import()", async () => {
    const mod = await import("@chorus/openai-agents");
    expect(typeof mod.instrument).toBe("function");
  });

  it("the CJS and ESM builds share one registration per client", async () => {
    const cjs = require("@chorus/openai-agents") as typeof import("@chorus/openai-agents");
    const esm = await import("@chorus/openai-agents");
    const chorus = new Chorus({
      url: "http://127.0.0.1:9",
      apiKey: "k",
      logger: false,
      drainOnExit: false,
      enabled: false,
    });
    const first = esm.instrument({ chorus, logger: false, enableTracing: false });
    const second = cjs.instrument({ chorus, logger: false, enableTracing: false });
    expect(second).toBe(first);
    await first.shutdown(100);
    await chorus.close(100);
  });
});
