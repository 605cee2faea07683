import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";

// Proves what ships: the built dist loads through both module systems and works without decorators.
describe("built dist", () => {
  it("loads with require()", () => {
    const require = createRequire(import.meta.url);
    const mod = require("@chorus/agents");
    for (const name of [
      "agent",
      "onAssignment",
      "onStateChange",
      "onStatus",
      "onEvent",
      "defineAgent",
      "runAgent",
      "patchIntent",
      "completeIntent",
    ]) {
      expect(typeof mod[name]).toBe("function");
    }
    const definition = mod.defineAgent({ id: "cjs", handlers: { onAssignment: () => undefined } });
    expect(mod.isAgentDefinition(definition)).toBe(true);
    expect(mod.DEFAULT_CONCURRENCY).toBe(4);
  });

  it("loads with import(), and both copies recognise each other's definitions", async () => {
    const esm = await import("@chorus/agents");
    const cjs = createRequire(import.meta.url)("@chorus/agents");
    const fromEsm = esm.defineAgent({
      id: "esm",
      handlers: { onStateChange: { keys: ["k"], handler: () => undefined } },
    });
    expect(cjs.isAgentDefinition(fromEsm)).toBe(true);
    expect(cjs.definitionOf(fromEsm).handlers).toHaveLength(1);
    expect(esm.MAX_QUEUED_EVENTS).toBeGreaterThan(0);
  });
});
