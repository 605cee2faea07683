import { describe, expect, it } from "vitest";
import { summary } from "../web/lib/event.js";

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
});
