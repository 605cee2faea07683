import { isSecretKey } from "@chorus/core";
import { AIMessage, AIMessageChunk, HumanMessage, ToolMessage } from "@langchain/core/messages";
import { describe, expect, it } from "vitest";
import { customEvent, toolArguments, toolEndEvent } from "../src/mapping.js";
import { compactMessages, finalAssistantText, MAX_MESSAGES } from "../src/messages.js";
import { toAgentName } from "../src/metadata.js";
import { finishReasonOf, usageOf } from "../src/usage.js";

const result = (message: unknown, llmOutput?: unknown) => ({
  generations: [[{ text: "", message }]],
  llmOutput,
});

describe("usage", () => {
  it("reads usage_metadata, with cache and reasoning details", () => {
    const message = new AIMessage({
      content: "x",
      usage_metadata: {
        input_tokens: 10,
        output_tokens: 4,
        total_tokens: 14,
        input_token_details: { cache_read: 6, cache_creation: 2 },
        output_token_details: { reasoning: 3 },
      },
    });
    expect(usageOf(result(message))).toEqual({
      inputTokens: 10,
      outputTokens: 4,
      totalTokens: 14,
      cacheReadTokens: 6,
      cacheWriteTokens: 2,
      reasoningTokens: 3,
    });
  });

  it("falls back to llmOutput.tokenUsage (OpenAI style) and llmOutput.usage (Anthropic style)", () => {
    expect(
      usageOf(
        result(new AIMessage("x"), {
          tokenUsage: { promptTokens: 7, completionTokens: 2, totalTokens: 9 },
        }),
      ),
    ).toEqual({
      inputTokens: 7,
      outputTokens: 2,
      totalTokens: 9,
    });
    expect(
      usageOf(
        result(new AIMessage("x"), {
          usage: { input_tokens: 5, output_tokens: 1, cache_read_input_tokens: 4 },
        }),
      ),
    ).toEqual({ inputTokens: 5, outputTokens: 1, totalTokens: 6, cacheReadTokens: 4 });
    expect(usageOf(result(new AIMessage("x")))).toBeUndefined();
  });

  it("normalises finish reasons across providers", () => {
    const withStop = (stop: string) =>
      result(new AIMessage({ content: "", response_metadata: { stop_reason: stop } }));
    expect(finishReasonOf(withStop("end_turn"))).toBe("stop");
    expect(finishReasonOf(withStop("tool_use"))).toBe("tool_calls");
    expect(finishReasonOf(withStop("max_tokens"))).toBe("length");
    expect(finishReasonOf(withStop("pause_turn"))).toBe("pause_turn");
    expect(
      finishReasonOf(
        result(new AIMessage({ content: "", tool_calls: [{ name: "t", args: {}, id: "1" }] })),
      ),
    ).toBe("tool_calls");
  });
});

describe("messages", () => {
  it("finds the final assistant text of a state, a message, or a string output", () => {
    expect(finalAssistantText({ messages: [new HumanMessage("q"), new AIMessage("answer")] })).toBe(
      "answer",
    );
    expect(finalAssistantText(new AIMessageChunk("streamed"))).toBe("streamed");
    expect(finalAssistantText({ output: "parsed" })).toBe("parsed");
    expect(
      finalAssistantText({
        messages: [new AIMessage("a"), new ToolMessage({ content: "r", tool_call_id: "1" })],
      }),
    ).toBeUndefined();
    expect(finalAssistantText({ x: 1 })).toBeUndefined();
    expect(
      finalAssistantText(
        new AIMessage({
          content: [
            { type: "text", text: "a" },
            { type: "text", text: "b" },
          ],
        }),
      ),
    ).toBe("ab");
  });

  it("bounds a long transcript to the first message and the newest ones", () => {
    const many = Array.from({ length: 120 }, (_, i) => new HumanMessage(`m${i}`));
    const compact = compactMessages(many) as { role: string; content: string }[];
    expect(compact).toHaveLength(MAX_MESSAGES + 1);
    expect(compact[0]!.content).toBe("m0");
    expect(compact[1]).toEqual({ role: "omitted", content: "[70 messages omitted]" });
    expect(compact.at(-1)!.content).toBe("m119");
  });
});

describe("mapping", () => {
  it("parses JSON tool input, leaves other strings alone", () => {
    expect(toolArguments('{"city":"Paris"}')).toEqual({ city: "Paris" });
    expect(toolArguments("Paris")).toBe("Paris");
    expect(toolArguments("{not json")).toBe("{not json");
  });

  it("an error ToolMessage is a tool.error", () => {
    const msg = new ToolMessage({ content: "bad input", tool_call_id: "c9", status: "error" });
    expect(toolEndEvent("t", undefined, msg, 1, true)).toEqual({
      failed: true,
      payload: { name: "t", callId: "c9", error: { message: "bad input" }, latencyMs: 1 },
    });
  });

  it("custom events: dotted names are their own type, others are `custom`", () => {
    expect(customEvent("progress.update", { pct: 50 })).toEqual({
      type: "progress.update",
      payload: { pct: 50 },
    });
    expect(customEvent("progress.update", 5)).toEqual({
      type: "progress.update",
      payload: { value: 5 },
    });
    expect(customEvent("my event", { a: 1 })).toEqual({
      type: undefined,
      payload: { name: "my event", data: { a: 1 } },
    });
    expect(customEvent("bad..name", 1).type).toBeUndefined();
  });

  it("agent names are made valid for the hub", () => {
    expect(toAgentName("team/alpha#1")).toBe("team_alpha_1");
    expect(toAgentName("   ")).toBeUndefined();
  });
});

// The protocol names these payload fields (LlmEndPayload.timeToFirstTokenMs, LlmTokenPayload.token);
// @chorus/core's content capture must not redact them as secrets.
describe("canonical payload keys survive @chorus/core's capture", () => {
  it("timeToFirstTokenMs is not a secret key; a bare token is, except as llm.token's own field", () => {
    expect(isSecretKey("timeToFirstTokenMs")).toBe(false);
    // A tool argument named `token` is a credential; llm.token's `token` is exempted by type
    // (the streaming tests read it back from the hub unredacted).
    expect(isSecretKey("token")).toBe(true);
  });
});
