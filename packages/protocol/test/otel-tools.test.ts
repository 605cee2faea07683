import { describe, expect, it } from "vitest";
import { toolNamesOf } from "../src/otel/payloads.js";

/** A tool as the AI SDK writes it into `ai.prompt.tools`: one JSON string per tool. */
const aiSdkTool = (name: string, properties = 1) =>
  JSON.stringify({
    type: "function",
    name,
    description: `the ${name} tool`,
    inputSchema: {
      $schema: "http://json-schema.org/draft-07/schema#",
      type: "object",
      properties: Object.fromEntries(
        Array.from({ length: properties }, (_, i) => [
          `p${i}`,
          { type: "object", properties: { name: { type: "string" }, type: { type: "string" } } },
        ]),
      ),
    },
  });

describe("toolNamesOf (llm.start's tools)", () => {
  it("reads each AI SDK definition's own name, however large its schema", () => {
    const tools = [aiSdkTool("weather", 200), aiSdkTool("search"), aiSdkTool('say "hi" ✓ \\ 🦜')];
    expect(toolNamesOf({ "ai.prompt.tools": tools })).toEqual([
      "weather",
      "search",
      'say "hi" ✓ \\ 🦜',
    ]);
  });

  it("gives every form of definition the name a full parse gives", () => {
    const defs = [
      '{"name":"first-key","type":"function"}', // another key order
      '{"type":"provider-defined","id":"x.y","name":"provider_tool","args":{}}',
      '  {"type":"function","name":"leading-space"}',
      '{"type":"function","name":"bad-escape\\q"}', // not JSON: nothing
      "not json at all",
      '{"type":"function","description":"no name"}',
    ];
    const fullParse = defs.flatMap((d) => {
      try {
        const name = (JSON.parse(d) as { name?: unknown }).name;
        return typeof name === "string" ? [name] : [];
      } catch {
        return [];
      }
    });
    expect(fullParse).toEqual(["first-key", "provider_tool", "leading-space"]);
    expect(toolNamesOf({ "ai.prompt.tools": defs })).toEqual(fullParse);
  });

  it("keeps the name of a definition cut short by an attribute length limit", () => {
    const cut = aiSdkTool("lookup", 50).slice(0, 120);
    expect(() => JSON.parse(cut)).toThrow();
    expect(toolNamesOf({ "ai.prompt.tools": [cut] })).toEqual(["lookup"]);
  });

  it("reads the GenAI convention's single JSON array too", () => {
    const defs = JSON.stringify([
      { type: "function", name: "get_weather", parameters: { type: "object" } },
      { type: "function", name: "book" },
    ]);
    expect(toolNamesOf({ "gen_ai.tool.definitions": defs })).toEqual(["get_weather", "book"]);
    expect(toolNamesOf({ "gen_ai.tool.definitions": "[]" })).toBeUndefined();
    expect(toolNamesOf({})).toBeUndefined();
  });
});
