import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";

// Proves what ships: the built dist loads through both module systems, and the handler it exports
// is a real LangChain callback handler (the peer stays external, so instanceof holds).
describe("built dist", () => {
  it("loads with require()", () => {
    const require = createRequire(import.meta.url);
    const mod = require("@chorus/langchain");
    const { BaseCallbackHandler } = require("@langchain/core/callbacks/base");
    const handler = new mod.ChorusCallbackHandler({
      chorus: { enabled: false, logger: false, drainOnExit: false },
    });
    expect(handler).toBeInstanceOf(BaseCallbackHandler);
    expect(handler.awaitHandlers).toBe(true);
    expect(mod.MAX_RUNS_IN_FLIGHT).toBeGreaterThan(0);
  });

  it("loads with import()", async () => {
    const mod = await import("@chorus/langchain");
    const { BaseCallbackHandler } = await import("@langchain/core/callbacks/base");
    const handler = new mod.ChorusCallbackHandler({
      chorus: { enabled: false, logger: false, drainOnExit: false },
    });
    expect(handler).toBeInstanceOf(BaseCallbackHandler);
    expect(handler.name).toBe("ChorusCallbackHandler");
    expect(mod.AdapterEventTypes.RetrieverStart).toBe("retriever.start");
  });
});
