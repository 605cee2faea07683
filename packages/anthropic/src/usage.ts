import type { TokenUsage } from "@chorus/core";
import { count, isObj } from "./values.js";

/**
 * Anthropic usage as the protocol's {@link TokenUsage}.
 *
 * Anthropic's `input_tokens` counts only the uncached part of the prompt; cache reads and writes
 * are reported beside it. `inputTokens` here is the whole prompt (uncached + cache read + cache
 * write), the way OpenAI and LangChain's `usage_metadata` count it, so a dashboard summing
 * `inputTokens` across adapters adds like with like; the cache parts stay visible in
 * `cacheReadTokens` and `cacheWriteTokens`.
 */
export function toTokenUsage(usage: unknown): TokenUsage | undefined {
  if (!isObj(usage)) return undefined;
  const uncached = count(usage.input_tokens);
  const cacheRead = count(usage.cache_read_input_tokens);
  const cacheWrite = count(usage.cache_creation_input_tokens);
  const output = count(usage.output_tokens);
  const details = usage.output_tokens_details;
  const reasoning = isObj(details) ? count(details.thinking_tokens) : undefined;

  const out: TokenUsage = {};
  const anyInput = uncached !== undefined || cacheRead !== undefined || cacheWrite !== undefined;
  if (anyInput) out.inputTokens = (uncached ?? 0) + (cacheRead ?? 0) + (cacheWrite ?? 0);
  if (output !== undefined) out.outputTokens = output;
  if (out.inputTokens !== undefined || output !== undefined) {
    out.totalTokens = (out.inputTokens ?? 0) + (output ?? 0);
  }
  if (cacheRead !== undefined) out.cacheReadTokens = cacheRead;
  if (cacheWrite !== undefined) out.cacheWriteTokens = cacheWrite;
  if (reasoning !== undefined) out.reasoningTokens = reasoning;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The usage counters the mapping reads; a streamed message keeps only these. */
export interface StreamUsage {
  input_tokens?: unknown;
  output_tokens?: unknown;
  cache_read_input_tokens?: unknown;
  cache_creation_input_tokens?: unknown;
  output_tokens_details?: unknown;
}

const USAGE_KEYS = [
  "input_tokens",
  "output_tokens",
  "cache_read_input_tokens",
  "cache_creation_input_tokens",
  "output_tokens_details",
] as const;

/**
 * Fold a usage object from the stream into `base`, the way the API defines them: the
 * `message_delta` `output_tokens` is the final count and replaces the placeholder from
 * `message_start`; the other counters are whole-message totals, present only when they apply,
 * so a present one replaces and an absent (or null) one keeps the earlier value.
 */
export function mergeUsage(base: StreamUsage, usage: unknown): void {
  if (!isObj(usage)) return;
  for (const key of USAGE_KEYS) {
    const value = usage[key];
    if (value !== null && value !== undefined) base[key] = value;
  }
}
