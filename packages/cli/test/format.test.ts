import type { ChorusEvent } from "@chorus/core";
import { describe, expect, it } from "vitest";
import { eventFromFlags } from "../src/commands/emit.js";
import { planTail } from "../src/commands/tail.js";
import { UsageError } from "../src/exit-codes.js";
import { formatEventLine, summarizeEvent, typeStyle } from "../src/format.js";
import { formatStateChange } from "../src/format-intent.js";
import { IntentStateTracker } from "../src/intent-state.js";
import { batchLines } from "../src/line-batches.js";

const plain = { color: false };

function event(
  type: string,
  payload: Record<string, unknown>,
  extra: Partial<ChorusEvent> = {},
): ChorusEvent {
  return {
    id: "e1",
    seq: 42,
    channel: "research",
    env: "default",
    type,
    payload,
    metadata: {},
    occurredAt: "2026-01-01T10:00:00.000Z",
    receivedAt: "2026-01-01T10:00:00.010Z",
    ...extra,
  };
}

describe("one line per event", () => {
  it("shows seq, type, agent, channel and a summary on one line", () => {
    const line = formatEventLine(
      event("tool.start", { name: "search", arguments: { q: "mqtt" } }, { agent: "researcher" }),
      plain,
    );
    expect(line).toMatch(/#42\s+tool\.start\s+researcher\s+research\s+search\(\{"q":"mqtt"\}\)$/);
    expect(line).not.toContain("\n");
  });

  it("summarizes each canonical type by what a person looks for", () => {
    expect(
      summarizeEvent(
        event("llm.end", {
          model: "gpt-4o",
          usage: { inputTokens: 120, outputTokens: 33 },
          finishReason: "stop",
          latencyMs: 812.4,
        }),
      ),
    ).toBe("gpt-4o 120→33 tokens stop 812ms");
    expect(summarizeEvent(event("tool.end", { name: "search", result: "3 hits" }))).toBe(
      'search → "3 hits"',
    );
    expect(
      summarizeEvent(
        event("tool.error", { name: "search", error: { message: "boom", type: "Timeout" } }),
      ),
    ).toBe("search: Timeout: boom");
    expect(
      summarizeEvent(event("agent.message", { role: "assistant", text: "line one\nline two" })),
    ).toBe('assistant: "line one line two"');
    expect(summarizeEvent(event("agent.handoff", { from: "triage", to: "writer" }))).toBe(
      "triage → writer",
    );
    expect(
      summarizeEvent(
        event("intent.status_changed", { from: "active", to: "completed", reason: "done" }),
      ),
    ).toBe("active → completed (done)");
    expect(
      summarizeEvent(event("intent.state_changed", { version: 3, changedKeys: ["stage"] })),
    ).toBe("v3 stage");
    expect(summarizeEvent(event("custom", { n: 1 }))).toBe('{"n":1}');
  });

  it("writes list items and versions of the wrong type as JSON or ?, never through their toString", () => {
    const hostile = { toString: 1 };
    expect(summarizeEvent(event("llm.start", { model: "m", tools: ["search", hostile] }))).toBe(
      'm tools: search,{"toString":1}',
    );
    expect(
      summarizeEvent(
        event("intent.state_changed", { version: hostile, changedKeys: [hostile, "a"] }),
      ),
    ).toBe('v? {"toString":1}, a');
  });

  it("cuts a long payload to one terminal line", () => {
    const summary = summarizeEvent(event("agent.message", { text: "x".repeat(500) }));
    expect(summary.length).toBeLessThanOrEqual(100);
    expect(summary).toContain("…");
  });

  it("colours by family, errors in red, and not at all when output is not a terminal", () => {
    expect(typeStyle("llm.start")).toBe("magenta");
    expect(typeStyle("tool.end")).toBe("cyan");
    expect(typeStyle("agent.start")).toBe("green");
    expect(typeStyle("intent.comment")).toBe("yellow");
    expect(typeStyle("llm.error")).toBe("red");
    expect(formatEventLine(event("llm.error", {}), plain)).not.toContain("\u001b[");
  });
});

describe("chorus tail flags", () => {
  it("follows a channel with filters", () => {
    expect(
      planTail(
        {
          channel: "research",
          type: ["tool.start,tool.end", "llm.end"],
          agent: "a",
          after: "10",
          count: "3",
        },
        {},
      ),
    ).toEqual({
      source: { kind: "channel", channel: "research" },
      filters: { types: ["tool.start", "tool.end", "llm.end"], agent: "a", after: 10 },
      count: 3,
      json: false,
    });
  });

  it("defaults to CHORUS_CHANNEL and refuses to guess without one", () => {
    expect(planTail({}, { CHORUS_CHANNEL: "env-channel" }).source).toEqual({
      kind: "channel",
      channel: "env-channel",
    });
    expect(() => planTail({}, {})).toThrow(UsageError);
  });

  it("uses the intent stream for --intent, and a channel filter when a channel is given too", () => {
    expect(planTail({ intent: "i1" }, {}).source).toEqual({ kind: "intent", id: "i1" });
    const both = planTail({ intent: "i1", channel: "c" }, {});
    expect(both.source).toEqual({ kind: "channel", channel: "c" });
    expect(both.filters.intentId).toBe("i1");
    expect(planTail({ assigned: "researcher" }, {}).source).toEqual({
      kind: "assigned",
      agent: "researcher",
    });
  });

  it("refuses contradictions and bad numbers", () => {
    expect(() => planTail({ intent: "i", assigned: "a" }, {})).toThrow(/cannot be combined/);
    expect(() => planTail({ channel: "c", portfolio: "p" }, {})).toThrow(/cannot be combined/);
    expect(() => planTail({ channel: "c", count: "0" }, {})).toThrow(/--count/);
    expect(() => planTail({ channel: "c", after: "-1" }, {})).toThrow(/--after/);
    expect(planTail({ channel: "c", limit: "5" }, {}).count).toBe(5);
  });
});

describe("chorus emit flags", () => {
  it("builds the event, --text merged into --payload", () => {
    expect(
      eventFromFlags(
        { channel: "c", type: "custom", agent: "a", payload: '{"n":1}', text: "hi", trace: "t" },
        {},
      ),
    ).toEqual({
      channel: "c",
      type: "custom",
      agent: "a",
      payload: { n: 1, text: "hi" },
      traceId: "t",
    });
    expect(eventFromFlags({ type: "custom" }, { CHORUS_CHANNEL: "env" }).channel).toBe("env");
  });

  it("names the flag when the JSON is bad or not an object", () => {
    expect(() => eventFromFlags({ payload: "{oops" }, {})).toThrow(/--payload is not valid JSON/);
    expect(() => eventFromFlags({ payload: "[1]" }, {})).toThrow(/--payload must be a JSON object/);
  });
});

describe("state changes as old → new", () => {
  it("tracks state through the log", () => {
    const tracker = new IntentStateTracker();
    tracker.apply({
      type: "intent.created",
      payload: { intent: { state: { q: "why?" }, status: "active" } },
    });
    const change = tracker.apply({
      type: "intent.state_changed",
      payload: { version: 2, changedKeys: ["q", "stage"], state: { q: "how?", stage: "research" } },
    });
    expect(change).toEqual({
      before: { q: "why?" },
      after: { q: "how?", stage: "research" },
      keys: ["q", "stage"],
    });
    expect(formatStateChange(change!.before, change!.after, change!.keys, plain)).toEqual([
      '    q: "why?" → "how?"',
      '    stage: (unset) → "research"',
    ]);
    tracker.apply({ type: "intent.status_changed", payload: { from: "active", to: "completed" } });
    expect(tracker.status).toBe("completed");
  });
});

describe("stdin batching", () => {
  async function* lines(items: string[]) {
    yield* items;
  }

  it("skips blank lines, numbers lines from 1 and cuts at the count bound", async () => {
    const batches = [];
    for await (const batch of batchLines(lines(["a", "", "b", "c"]), {
      maxItems: 2,
      maxBytes: 1000,
      idleMs: 1000,
    })) {
      batches.push(batch);
    }
    expect(batches).toEqual([
      [
        { line: "a", number: 1 },
        { line: "b", number: 3 },
      ],
      [{ line: "c", number: 4 }],
    ]);
  });

  it("sends what it has when the producer goes quiet", async () => {
    async function* slow() {
      yield "first";
      await new Promise((r) => setTimeout(r, 200));
      yield "second";
    }
    const seen: string[][] = [];
    for await (const batch of batchLines(slow(), { maxItems: 100, maxBytes: 1000, idleMs: 20 }))
      seen.push(batch.map((b) => b.line));
    expect(seen).toEqual([["first"], ["second"]]);
  });
});
