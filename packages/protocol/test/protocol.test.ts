import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  applyMergePatch,
  canTransition,
  changedTopLevelKeys,
  ERROR_STATUS,
  ErrorCodes,
  eventInputSchema,
  formatSseComment,
  formatSseEvent,
  formatSseMessage,
  parseLastEventId,
} from "../src/index.js";

describe("event schema", () => {
  it("accepts a minimal event and names frameworks use, refusing only control characters", () => {
    expect(eventInputSchema.safeParse({ channel: "c", type: "tool.start" }).success).toBe(true);
    for (const name of ["research/web", "Support #2", "Q&A + search", "100%", "é/ü"]) {
      const event = { channel: name, app: name, env: name, agent: name, type: "t" };
      expect(eventInputSchema.safeParse(event).success, name).toBe(true);
    }
    for (const channel of ["x\u0000", "a\nb", "del\u007f", "c1\u0085", ""]) {
      expect(eventInputSchema.safeParse({ channel, type: "t" }).success).toBe(false);
    }
  });

  it("checks W3C ids and refuses unknown fields", () => {
    const ok = { channel: "c", type: "t", traceId: "a".repeat(32), spanId: "b".repeat(16) };
    expect(eventInputSchema.safeParse(ok).success).toBe(true);
    expect(eventInputSchema.safeParse({ ...ok, traceId: "A".repeat(32) }).success).toBe(false);
    expect(eventInputSchema.safeParse({ ...ok, spanId: "b".repeat(15) }).success).toBe(false);
    expect(eventInputSchema.safeParse({ ...ok, bogus: 1 }).success).toBe(false);
    expect(eventInputSchema.safeParse({ ...ok, payload: [] }).success).toBe(false);
  });
});

describe("SSE framing", () => {
  it("frames id, event and data and ends with a blank line", () => {
    expect(formatSseEvent({ seq: 7, type: "tool.start" })).toBe(
      'id: 7\nevent: tool.start\ndata: {"seq":7,"type":"tool.start"}\n\n',
    );
  });
  it("splits multi-line data and strips newlines from fields", () => {
    expect(formatSseMessage({ id: "1\n2", event: "a\rb", data: "x\ny" })).toBe(
      "id: 12\nevent: ab\ndata: x\ndata: y\n\n",
    );
    expect(formatSseComment("ping")).toBe(": ping\n\n");
  });
  it("parses Last-Event-ID strictly", () => {
    expect(parseLastEventId("42")).toBe(42);
    expect(parseLastEventId(" 0 ")).toBe(0);
    for (const v of ["-1", "abc", "1e3", "", undefined, "9".repeat(20)]) {
      expect(parseLastEventId(v)).toBeUndefined();
    }
  });
});

describe("intents", () => {
  it("applies RFC 7396 merge patches", () => {
    // The examples of RFC 7396, appendix A.
    const cases: [unknown, unknown, unknown][] = [
      [{ a: "b" }, { a: "c" }, { a: "c" }],
      [{ a: "b" }, { b: "c" }, { a: "b", b: "c" }],
      [{ a: "b" }, { a: null }, {}],
      [{ a: "b", b: "c" }, { a: null }, { b: "c" }],
      [{ a: ["b"] }, { a: "c" }, { a: "c" }],
      [{ a: "c" }, { a: ["b"] }, { a: ["b"] }],
      [{ a: { b: "c" } }, { a: { b: "d", c: null } }, { a: { b: "d" } }],
      [{ a: [{ b: "c" }] }, { a: [1] }, { a: [1] }],
      [
        ["a", "b"],
        ["c", "d"],
        ["c", "d"],
      ],
      [{ a: "b" }, ["c"], ["c"]],
      [{ a: "foo" }, null, null],
      [{ a: "foo" }, "bar", "bar"],
      [{ e: null }, { a: 1 }, { e: null, a: 1 }],
      [[1, 2], { a: "b", c: null }, { a: "b" }],
      [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
    ];
    for (const [target, patch, result] of cases) {
      expect(applyMergePatch(target, patch)).toEqual(result);
    }
  });

  it("reports only the top-level keys whose value changed", () => {
    expect(changedTopLevelKeys({ a: 1, b: { c: 2 }, d: 1 }, { a: 1, b: { c: 3 }, e: 1 })).toEqual([
      "b",
      "d",
      "e",
    ]);
    expect(changedTopLevelKeys({ a: [1, { x: 1 }] }, { a: [1, { x: 1 }] })).toEqual([]);
  });

  it("enforces the status machine", () => {
    expect(canTransition("draft", "active")).toBe(true);
    expect(canTransition("active", "blocked")).toBe(true);
    expect(canTransition("blocked", "completed")).toBe(false);
    expect(canTransition("completed", "active")).toBe(false);
    expect(canTransition("cancelled", "active")).toBe(false);
  });
});

describe("error codes", () => {
  it("map to the statuses DESIGN.md names", () => {
    expect(ERROR_STATUS[ErrorCodes.ValidationFailed]).toBe(400);
    expect(ERROR_STATUS[ErrorCodes.PayloadTooLarge]).toBe(413);
    expect(ERROR_STATUS[ErrorCodes.InvalidTransition]).toBe(422);
    expect(ERROR_STATUS[ErrorCodes.RateLimited]).toBe(429);
  });
});

describe("universal package", () => {
  it("uses no Node built-ins in src", () => {
    const dir = join(import.meta.dirname, "../src");
    const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) =>
      e.isFile(),
    );
    expect(files.length).toBeGreaterThan(5);
    for (const entry of files) {
      const file = join(entry.parentPath, entry.name);
      const text = readFileSync(file, "utf8");
      expect(text, file).not.toMatch(/from "node:|require\("node:|from "(fs|path|crypto|events)"/);
    }
  });
});

describe("unpaired UTF-16 surrogates", () => {
  it("are refused in names and intent texts; pairs (emoji) are fine", async () => {
    const { eventInputSchema, intentCreateSchema, isName } = await import("../src/index.js");
    for (const bad of ["x\ud800", "\udc00x", "a\ud800b"]) {
      expect(isName(bad)).toBe(false);
      expect(eventInputSchema.safeParse({ type: "t", channel: bad }).success).toBe(false);
      expect(intentCreateSchema.safeParse({ title: bad }).success).toBe(false);
      expect(intentCreateSchema.safeParse({ title: "t", description: bad }).success).toBe(false);
    }
    expect(isName("agent 🤖")).toBe(true);
    expect(eventInputSchema.safeParse({ type: "t", channel: "🤖" }).success).toBe(true);
    expect(intentCreateSchema.safeParse({ title: "🤖 plan", description: "🤖" }).success).toBe(
      true,
    );
  });
});
