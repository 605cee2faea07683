import { describe, expect, it } from "vitest";
import { SUMMARY_MAX, summary } from "../web/lib/event.js";

/** The timeline's one-line summary of a row: what a reader scans the timeline for. */
describe("summary of an event row", () => {
  it("says what failed and why for every kind of error event", () => {
    expect(
      summary({
        type: "llm.error",
        payload: {
          model: "gpt-4.1",
          error: { type: "RateLimitError", message: "Rate limit reached", status: 429 },
        },
      }),
    ).toBe("gpt-4.1: RateLimitError: Rate limit reached");
    expect(
      summary({
        type: "tool.error",
        payload: { name: "search", arguments: { q: "x" }, error: { message: "timed out" } },
      }),
    ).toBe("search: timed out");
    expect(
      summary({ type: "agent.error", payload: { name: "writer", error: { message: "boom" } } }),
    ).toBe("writer: boom");
    // A custom error event with a plain string or a message of its own.
    expect(summary({ type: "deploy.error", payload: { error: "disk full" } })).toBe("disk full");
    expect(summary({ type: "error", payload: { message: "oops" } })).toBe("oops");
  });

  it("names the model of an LLM call, with what it was asked and what it answered", () => {
    expect(
      summary({
        type: "llm.start",
        payload: { provider: "openai", messages: [{}, {}], tools: ["lookup", "search"] },
      }),
    ).toBe("openai · 2 messages · tools: lookup, search");
    expect(summary({ type: "llm.start", payload: { model: "m", messages: [{}] } })).toBe(
      "m · 1 message",
    );
    expect(summary({ type: "llm.start", payload: {} })).toBe("");
    expect(
      summary({
        type: "llm.end",
        payload: {
          model: "claude-haiku-4-5",
          usage: { inputTokens: 420, outputTokens: 38 },
          toolCalls: [{ name: "format_citations", callId: "c1" }],
        },
      }),
    ).toBe("claude-haiku-4-5 · 420→38 tok · calls format_citations");
  });

  it("shows a tool with its arguments, then its result", () => {
    expect(summary({ type: "tool.start", payload: { name: "lookup", arguments: { id: 7 } } })).toBe(
      'lookup {"id":7}',
    );
    expect(summary({ type: "tool.end", payload: { name: "lookup", result: "packed" } })).toBe(
      "lookup packed",
    );
  });

  it("reads payload values of the wrong type as absent or as JSON, never calling toString", () => {
    const evil = { toString: 1 };
    expect(
      summary({
        type: "llm.start",
        payload: { model: evil, provider: "p", tools: [evil, 7, "x"] },
      }),
    ).toBe('p · tools: {"toString":1}, 7, x');
    expect(
      summary({ type: "llm.end", payload: { usage: { inputTokens: evil, outputTokens: "12" } } }),
    ).toBe("0→0 tok");
    expect(summary({ type: "llm.end", payload: { model: "m", usage: "lots" } })).toBe("m");
    expect(summary({ type: "intent.state_changed", payload: { version: evil, patch: {} } })).toBe(
      "v? {}",
    );
    expect(summary({ type: "intent.status_changed", payload: { from: evil, to: 3 } })).toBe(
      "? → ?",
    );
    expect(summary({ type: "agent.end", payload: { name: evil, latencyMs: "9" } })).toBe("");
    expect(summary({ type: "tool.end", payload: { name: [1], result: evil } })).toBe(
      'tool {"toString":1}',
    );
    expect(summary({ type: "llm.error", payload: { model: "m", error: { message: evil } } })).toBe(
      'm: {"model":"m","error":{"message":{"toString":1}}}',
    );
    expect(summary({ type: "custom", payload: { text: evil } })).toBe('{"text":{"toString":1}}');
    expect(summary({ type: "custom", payload: null as unknown as Record<string, unknown> })).toBe(
      "{}",
    );
  });

  it("cuts every summary to one bounded line, text and error messages too", () => {
    const long = "word ".repeat(40_000);
    for (const event of [
      { type: "custom", payload: { text: long } },
      { type: "custom", payload: { message: long } },
      { type: "intent.comment", payload: { title: long } },
      { type: "tool.error", payload: { name: "search", error: { message: long } } },
      { type: "deploy.error", payload: { error: long } },
      { type: "tool.start", payload: { name: long } },
      { type: "llm.start", payload: { model: "m", tools: [long, long] } },
    ]) {
      const line = summary(event);
      expect(line).toHaveLength(SUMMARY_MAX);
      expect(line.endsWith("…")).toBe(true);
    }
    expect(summary({ type: "custom", payload: { text: "😀".repeat(200) } })).toBe(
      `${"😀".repeat(99)}…`,
    );
  });
});
