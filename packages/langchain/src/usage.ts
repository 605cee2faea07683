import type { TokenUsage } from "@chorus/core";
import { isArray, read, readNumber, readString } from "./read.js";

/*
 * What an LLM run reports about itself, from wherever the integration put it: `usage_metadata`
 * on the message (the standard since @langchain/core 0.2), then `llmOutput.tokenUsage` (OpenAI
 * style, older integrations), then `llmOutput.usage` (Anthropic style).
 */

/** Every generated message of an `LLMResult` (one per prompt and completion). */
export function generatedMessages(result: unknown): unknown[] {
  const generations = read(result, "generations");
  if (!isArray(generations)) return [];
  const out: unknown[] = [];
  for (const perPrompt of generations) {
    if (!isArray(perPrompt)) continue;
    for (const generation of perPrompt) out.push(read(generation, "message") ?? generation);
  }
  return out;
}

export function firstGeneration(result: unknown): unknown {
  const generations = read(result, "generations");
  if (!isArray(generations)) return undefined;
  const first = generations[0];
  return isArray(first) ? first[0] : undefined;
}

/** Token usage summed over the generations, or `undefined` when the provider reported none. */
export function usageOf(result: unknown): TokenUsage | undefined {
  let total: TokenUsage | undefined;
  for (const message of generatedMessages(result)) {
    const usage = fromUsageMetadata(read(message, "usage_metadata"));
    if (usage) total = total ? add(total, usage) : usage;
  }
  if (total) return total;
  const llmOutput = read(result, "llmOutput");
  return (
    fromTokenUsage(read(llmOutput, "tokenUsage")) ?? fromProviderUsage(read(llmOutput, "usage"))
  );
}

function fromUsageMetadata(meta: unknown): TokenUsage | undefined {
  if (meta === undefined || meta === null) return undefined;
  const input = read(meta, "input_token_details");
  const output = read(meta, "output_token_details");
  return clean({
    inputTokens: readNumber(meta, "input_tokens"),
    outputTokens: readNumber(meta, "output_tokens"),
    totalTokens: readNumber(meta, "total_tokens"),
    cacheReadTokens: readNumber(input, "cache_read"),
    cacheWriteTokens: readNumber(input, "cache_creation"),
    reasoningTokens: readNumber(output, "reasoning"),
  });
}

function fromTokenUsage(usage: unknown): TokenUsage | undefined {
  if (usage === undefined || usage === null) return undefined;
  return clean({
    inputTokens: readNumber(usage, "promptTokens") ?? readNumber(usage, "prompt_tokens"),
    outputTokens: readNumber(usage, "completionTokens") ?? readNumber(usage, "completion_tokens"),
    totalTokens: readNumber(usage, "totalTokens") ?? readNumber(usage, "total_tokens"),
  });
}

function fromProviderUsage(usage: unknown): TokenUsage | undefined {
  if (usage === undefined || usage === null) return undefined;
  const inputTokens = readNumber(usage, "input_tokens");
  const outputTokens = readNumber(usage, "output_tokens");
  return clean({
    inputTokens,
    outputTokens,
    totalTokens:
      inputTokens !== undefined && outputTokens !== undefined
        ? inputTokens + outputTokens
        : undefined,
    cacheReadTokens: readNumber(usage, "cache_read_input_tokens"),
    cacheWriteTokens: readNumber(usage, "cache_creation_input_tokens"),
  });
}

function clean(usage: TokenUsage): TokenUsage | undefined {
  let any = false;
  for (const key of Object.keys(usage) as (keyof TokenUsage)[]) {
    if (usage[key] === undefined) delete usage[key];
    else any = true;
  }
  return any ? usage : undefined;
}

function add(a: TokenUsage, b: TokenUsage): TokenUsage {
  const out: TokenUsage = { ...a };
  for (const key of Object.keys(b) as (keyof TokenUsage)[])
    out[key] = (out[key] ?? 0) + (b[key] ?? 0);
  return out;
}

/** Provider stop reasons mapped onto the shared vocabulary; unknown ones pass through. */
const FINISH_REASONS: Record<string, string> = {
  stop: "stop",
  end_turn: "stop",
  stop_sequence: "stop",
  STOP: "stop",
  tool_calls: "tool_calls",
  tool_use: "tool_calls",
  function_call: "tool_calls",
  length: "length",
  max_tokens: "length",
  MAX_TOKENS: "length",
  content_filter: "content_filter",
  refusal: "content_filter",
  SAFETY: "content_filter",
};

/** The finish reason of the first generation: response metadata first, then generation info. */
export function finishReasonOf(result: unknown): string | undefined {
  const generation = firstGeneration(result);
  const message = read(generation, "message");
  const meta = read(message, "response_metadata");
  const info = read(generation, "generationInfo");
  const raw =
    readString(meta, "finish_reason") ??
    readString(meta, "stop_reason") ??
    readString(meta, "finishReason") ??
    readString(info, "finish_reason") ??
    readString(info, "stop_reason");
  if (raw !== undefined) return FINISH_REASONS[raw] ?? raw;
  // Providers that say nothing: a message that asks for tools did stop for tool calls.
  const calls = read(message, "tool_calls");
  return isArray(calls) && calls.length > 0 ? "tool_calls" : undefined;
}

/** The model that answered, as the provider named it (may be more precise than the requested one). */
export function responseModelOf(result: unknown): string | undefined {
  const message = read(firstGeneration(result), "message");
  const meta = read(message, "response_metadata");
  return readString(meta, "model_name") ?? readString(meta, "model");
}
