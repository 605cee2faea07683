import { createRequire } from "node:module";
import Anthropic from "@anthropic-ai/sdk";
import { describe, expect, it } from "vitest";
import { message, text } from "./helpers/messages.js";
import { recordingSink } from "./helpers/sink.js";

/*
 * Proves what ships: the built dist (run `pnpm build` first) loads through both module
 * systems, and each copy instruments a real SDK client. The two copies share the wrap mark, so
 * wrapping with one and then the other never doubles events.
 */
const fetchMessage = async () =>
  new Response(JSON.stringify(message([text("from dist")])), {
    status: 200,
    headers: { "content-type": "application/json" },
  });
const sdk = () =>
  new Anthropic({
    apiKey: "test",
    baseURL: "http://fake.invalid",
    maxRetries: 0,
    fetch: fetchMessage,
  });
const ask = {
  model: "claude-test-1",
  max_tokens: 8,
  messages: [{ role: "user" as const, content: "x" }],
};

describe("built dist", () => {
  it("loads with require() and instruments a client", async () => {
    const require = createRequire(import.meta.url);
    const mod = require("@chorus/anthropic") as typeof import("../src/index.js");
    expect(typeof mod.wrapAnthropic).toBe("function");
    expect(mod.MAX_PENDING_TOOLS).toBe(1000);
    const sink = recordingSink();
    const client = mod.wrapAnthropic(sdk(), { chorus: sink });
    const result = await client.messages.create(ask);
    expect(result.content).toEqual([{ type: "text", text: "from dist" }]);
    expect(sink.events.map((e) => e.type)).toEqual(["llm.start", "llm.end", "agent.message"]);
  });

  it("loads with import(), and the ESM and CJS copies recognise each other's wrap", async () => {
    const esm = await import("@chorus/anthropic");
    const cjs = createRequire(import.meta.url)("@chorus/anthropic") as typeof esm;
    expect(esm.wrapAnthropic).not.toBe(cjs.wrapAnthropic);
    const sink = recordingSink();
    const client = cjs.wrapAnthropic(esm.wrapAnthropic(sdk(), { chorus: sink }), { chorus: sink });
    expect(esm.isWrapped(client) && cjs.isWrapped(client)).toBe(true);
    await client.messages.create(ask);
    expect(sink.events.map((e) => e.type)).toEqual(["llm.start", "llm.end", "agent.message"]);
    cjs.unwrapAnthropic(client);
    expect(esm.isWrapped(client)).toBe(false);
  });
});
