import { describe, expect, it } from "vitest";
import { mapSpan, type OtelSpan } from "../src/index.js";

/** A finished chat span, as either producer (the span processor, OTLP ingest) hands it over. */
const chat = (
  over: Partial<OtelSpan> = {},
  attributes: Record<string, unknown> = {},
): OtelSpan => ({
  name: "chat m",
  traceId: "5b8efff798038103d269b633813fc60c",
  spanId: "eee19b7ec3c1b174",
  startTimeMs: 1_700_000_000_000,
  endTimeMs: 1_700_000_001_000,
  ...over,
  attributes: {
    "gen_ai.operation.name": "chat",
    "gen_ai.request.model": "m",
    ...attributes,
  } as OtelSpan["attributes"],
});

/** Every string in a JSON value, with its path. */
function strings(value: unknown, path = ""): [string, string][] {
  if (typeof value === "string") return [[path, value]];
  if (typeof value !== "object" || value === null) return [];
  return Object.entries(value).flatMap(([k, v]) => strings(v, `${path}.${k}`));
}

describe("the mapping under hostile spans", () => {
  it("drops __proto__ keys of JSON attributes instead of keeping them or swapping a prototype", () => {
    const [start] = mapSpan(
      chat(
        {},
        {
          "gen_ai.input.messages": '[{"role":"user","__proto__":{"polluted":1},"content":"hi"}]',
          "llm.invocation_parameters": '{"__proto__":{"polluted":1},"top_k":3}',
        },
      ),
    );
    const text = JSON.stringify(start?.payload);
    expect(text).not.toContain("__proto__");
    expect(start?.payload.messages).toEqual([{ role: "user", content: "hi" }]);
    const params = start?.payload.params as Record<string, unknown>;
    expect(params).toEqual({ top_k: 3 });
    expect(Object.getPrototypeOf(params)).toBe(Object.prototype);
    expect((params as { polluted?: unknown }).polluted).toBeUndefined();
    // Escaped, the key is the same once parsed.
    const [escaped] = mapSpan(
      chat({}, { "gen_ai.input.messages": '[{"role":"user","\\u005f_proto__":{"x":1}}]' }),
    );
    expect(escaped?.payload.messages).toEqual([{ role: "user" }]);
  });

  it("cuts every string it copies, the metadata's too (scope, response and conversation ids)", () => {
    const huge = "x".repeat(300_000);
    const events = mapSpan(
      {
        ...chat({}, { "gen_ai.response.id": huge, "gen_ai.conversation.id": huge }),
        scope: huge,
        name: huge,
      },
      { maxStringLength: 64 },
    );
    expect(events).toHaveLength(2);
    for (const event of events) {
      for (const [path, value] of strings(event)) expect(value.length, path).toBeLessThan(128);
    }
    expect(events[1]?.metadata.responseId).toMatch(/^x{64}…\[truncated 299936 chars\]$/);
  });

  it("never ends a span before it starts", () => {
    const [start, end] = mapSpan(
      chat({ startTimeMs: 1_700_000_009_000, endTimeMs: 1_700_000_001_000 }),
    );
    expect(end?.occurredAt).toBe(start?.occurredAt);
    expect(end?.payload.latencyMs).toBe(0);
  });

  it("reads no negative token counts", () => {
    const [, end] = mapSpan(
      chat({}, { "gen_ai.usage.input_tokens": -5, "gen_ai.usage.output_tokens": 7 }),
    );
    expect(end?.payload.usage).toEqual({ outputTokens: 7 });
  });
});
