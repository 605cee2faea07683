import { createRequire } from "node:module";
import { generateText, wrapLanguageModel } from "ai";
import { describe, expect, it } from "vitest";
import { recordingSink, scriptedModel, types } from "./helpers.js";

/*
 * Proves what ships: the built dist (run `pnpm build` first) loads through both module systems,
 * and each copy observes a real AI SDK call.
 */
describe("built dist", () => {
  it.each([
    [
      "require()",
      async () =>
        createRequire(import.meta.url)("@chorus/ai-sdk") as typeof import("../src/index.js"),
    ],
    ["import()", async () => import("@chorus/ai-sdk")],
  ])("loads with %s and observes generateText", async (_, load) => {
    const mod = await load();
    expect(mod.MAX_PENDING_TOOLS).toBe(1000);
    const sink = recordingSink();
    const model = wrapLanguageModel({
      model: scriptedModel([{ text: "from dist" }]),
      middleware: mod.chorusMiddleware({ chorus: sink }),
    });
    const result = await generateText({ model, prompt: "x" });
    expect(result.text).toBe("from dist");
    expect(types(sink.events)).toEqual(["llm.start", "llm.end", "agent.message"]);
  });
});
