import { describe, expect, it } from "vitest";
import { elapsed } from "../src/elapsed.js";
import { toSpanId, toTraceId } from "../src/ids.js";
import { errorInfo, modelErrorInfo } from "../src/mapping.js";
import { fromGeneration, fromResponse } from "../src/model-call.js";
import { toTokenUsage } from "../src/usage.js";

describe("toTokenUsage", () => {
  it("reads turn and task span usage", () => {
    expect(
      toTokenUsage({
        input_tokens: 10,
        output_tokens: 5,
        cached_input_tokens: 3,
        cache_write_input_tokens: 0,
      }),
    ).toEqual({
      inputTokens: 10,
      outputTokens: 5,
      totalTokens: 15,
      cacheReadTokens: 3,
    });
  });
  it("reads the Responses API shape with cache and reasoning details", () => {
    expect(
      toTokenUsage({
        input_tokens: 50,
        output_tokens: 12,
        total_tokens: 62,
        input_tokens_details: { cached_tokens: 20 },
        output_tokens_details: { reasoning_tokens: 8 },
      }),
    ).toEqual({
      inputTokens: 50,
      outputTokens: 12,
      totalTokens: 62,
      cacheReadTokens: 20,
      reasoningTokens: 8,
    });
  });
  it("reads Chat Completions and Anthropic-style cache writes", () => {
    expect(
      toTokenUsage({
        prompt_tokens: 7,
        completion_tokens: 2,
        prompt_tokens_details: { cached_tokens: 1 },
        cache_creation_input_tokens: 4,
      }),
    ).toEqual({
      inputTokens: 7,
      outputTokens: 2,
      totalTokens: 9,
      cacheReadTokens: 1,
      cacheWriteTokens: 4,
    });
  });
  it("reads the SDK's Usage (camelCase, details as arrays)", () => {
    expect(
      toTokenUsage({
        inputTokens: 4,
        outputTokens: 1,
        totalTokens: 5,
        inputTokensDetails: [{ cached_tokens: 1 }, { cached_tokens: 2 }],
        outputTokensDetails: [{ reasoning_tokens: 3 }],
      }),
    ).toEqual({
      inputTokens: 4,
      outputTokens: 1,
      totalTokens: 5,
      cacheReadTokens: 3,
      reasoningTokens: 3,
    });
  });
  it("answers undefined for anything without counts", () => {
    expect(toTokenUsage(undefined)).toBeUndefined();
    expect(toTokenUsage("12")).toBeUndefined();
    expect(toTokenUsage({ input_tokens: "12" })).toBeUndefined();
  });
});

describe("model calls from span data", () => {
  it("reads a response span", () => {
    const call = fromResponse({
      type: "response",
      response_id: "resp_9",
      _input: "hi",
      _response: {
        model: "gpt-x",
        status: "incomplete",
        incomplete_details: { reason: "max_output_tokens" },
        usage: { input_tokens: 1, output_tokens: 2 },
        output: [
          {
            type: "message",
            role: "assistant",
            content: [
              { type: "output_text", text: "Hel" },
              { type: "output_text", text: "lo" },
            ],
          },
        ],
      },
    });
    expect(call).toMatchObject({
      model: "gpt-x",
      responseId: "resp_9",
      text: "Hello",
      finishReason: "length",
      messages: [{ role: "user", content: "hi" }],
    });
  });
  it("reads a generation span holding a list of messages", () => {
    const call = fromGeneration({
      type: "generation",
      model: "m",
      model_config: { temperature: 0.2, top_p: undefined },
      usage: { input_tokens: 3, output_tokens: 4 },
      output: [
        { role: "assistant", content: "ok" },
        { type: "function_call", name: "f", callId: "c9" },
      ],
    });
    expect(call).toMatchObject({
      model: "m",
      params: { temperature: 0.2 },
      text: "ok",
      finishReason: "tool_calls",
      toolCalls: [{ name: "f", callId: "c9" }],
    });
  });
  it("tolerates empty and odd data", () => {
    expect(fromResponse({})).toEqual({ toolCalls: [], provider: "openai" });
    expect(fromGeneration({ output: "nope" }).toolCalls).toEqual([]);
  });
});

describe("ids", () => {
  it("keeps the SDK trace id's hex and hashes anything else", () => {
    expect(toTraceId("trace_0123456789abcdef0123456789abcdef")).toBe(
      "0123456789abcdef0123456789abcdef",
    );
    expect(toTraceId("my-own-trace")).toMatch(/^[0-9a-f]{32}$/);
    expect(toTraceId("trace_00000000000000000000000000000000")).not.toBe(
      "00000000000000000000000000000000",
    );
  });
  it("keeps the random digits of a default SDK span id", () => {
    // UUIDv4 hex: digit 12 is the version (4), digit 16 the variant.
    expect(toSpanId("span_0123456789ab4cde8f012345")).toBe("0123456789abcdef");
  });
  it("maps span ids deterministically to 16 hex", () => {
    expect(toSpanId("span_abc")).toMatch(/^[0-9a-f]{16}$/);
    expect(toSpanId("span_abc")).toBe(toSpanId("span_abc"));
    expect(toSpanId("span_abc")).not.toBe(toSpanId("span_abd"));
  });
});

describe("errorInfo", () => {
  it("joins the SDK's message with its detail", () => {
    expect(errorInfo({ message: "Error running tool", data: { error: "boom" } })).toEqual({
      message: "Error running tool: boom",
    });
    expect(errorInfo({ message: "x" })).toEqual({ message: "x" });
  });
});

describe("modelErrorInfo", () => {
  it("reads the status the OpenAI client writes first in its message, and the class it picks", () => {
    expect(modelErrorInfo({ message: "429 Rate limit reached" })).toEqual({
      message: "429 Rate limit reached",
      status: 429,
      type: "RateLimitError",
    });
    expect(modelErrorInfo({ message: "503 upstream" })).toMatchObject({
      status: 503,
      type: "InternalServerError",
    });
    expect(modelErrorInfo({ message: "418 teapot" })).toMatchObject({
      status: 418,
      type: "APIError",
    });
  });

  it("leaves other messages alone, and keeps a type the SDK recorded", () => {
    expect(modelErrorInfo({ message: "Connection error." })).toEqual({
      message: "Connection error.",
    });
    expect(modelErrorInfo({ message: "2024 was a year" })).toEqual({ message: "2024 was a year" });
    expect(modelErrorInfo({ message: "400 bad", data: { type: "invalid_request_error" } })).toEqual(
      {
        message: "400 bad",
        status: 400,
        type: "invalid_request_error",
      },
    );
  });
});

describe("elapsed", () => {
  it("agrees with Date.parse on the SDK's ISO times, within the hour and across it", () => {
    const base = Date.UTC(2026, 11, 4, 9, 59, 58, 990);
    for (const [a, b] of [
      [0, 4],
      [0, 0],
      [5, 1_015], // across a second
      [10, 1_500], // across the hour: the slow path
      [0, 3_600_000 * 30], // across days
    ] as const) {
      const from = new Date(base + a).toISOString();
      const to = new Date(base + b).toISOString();
      expect(elapsed(from, to), `${from} → ${to}`).toBe(b - a);
    }
    const at = new Date(base).toISOString();
    expect(elapsed(new Date(base + 10).toISOString(), at)).toBeUndefined(); // negative
    expect(elapsed(undefined, at)).toBeUndefined();
    expect(elapsed(at, "not a time")).toBeUndefined();
    // another ISO form (an offset, no milliseconds) still goes through Date.parse
    expect(elapsed("2026-12-04T10:00:00+01:00", "2026-12-04T09:00:01Z")).toBe(1000);
    expect(elapsed("2026-12-04T09:00:0xZ", "2026-12-04T09:00:05.000Z")).toBeUndefined();
  });
});
