import type { TokenUsage } from "@chorus/core";

/*
 * One reader for every usage shape the SDK hands us: turn and task spans (`input_tokens`,
 * `cached_input_tokens`), generation spans (free-form, often with `details`), the Responses API
 * (`input_tokens_details.cached_tokens`, `output_tokens_details.reasoning_tokens`), Chat
 * Completions (`prompt_tokens`, `completion_tokens_details`), the SDK's own `Usage` class
 * (camelCase, details as arrays) and providers that report cache writes Anthropic-style.
 */

type Bag = Record<string, unknown>;

const INPUT = ["input_tokens", "prompt_tokens", "inputTokens"];
const OUTPUT = ["output_tokens", "completion_tokens", "outputTokens"];
const TOTAL = ["total_tokens", "totalTokens"];
const INPUT_DETAILS = [
  "input_tokens_details",
  "prompt_tokens_details",
  "inputTokensDetails",
  "details",
];
const OUTPUT_DETAILS = [
  "output_tokens_details",
  "completion_tokens_details",
  "outputTokensDetails",
  "details",
];
const CACHE_READ = ["cached_input_tokens", "cache_read_input_tokens", "cachedInputTokens"];
const CACHE_READ_DETAIL = ["cached_tokens", "cached_input_tokens"];
const CACHE_WRITE = [
  "cache_write_input_tokens",
  "cache_creation_input_tokens",
  "cacheWriteInputTokens",
];
const CACHE_WRITE_DETAIL = ["cache_write_tokens", "cache_creation_tokens"];
const REASONING_DETAIL = ["reasoning_tokens"];

/** Normalised usage, or `undefined` when `raw` carries no token counts at all. */
export function toTokenUsage(raw: unknown): TokenUsage | undefined {
  if (!isBag(raw)) return undefined;
  const usage: TokenUsage = {};
  const input = first(raw, INPUT);
  const output = first(raw, OUTPUT);
  const total = first(raw, TOTAL);
  const cacheRead = first(raw, CACHE_READ) ?? fromDetails(raw, INPUT_DETAILS, CACHE_READ_DETAIL);
  const cacheWrite = first(raw, CACHE_WRITE) ?? fromDetails(raw, INPUT_DETAILS, CACHE_WRITE_DETAIL);
  const reasoning = fromDetails(raw, OUTPUT_DETAILS, REASONING_DETAIL);
  if (input !== undefined) usage.inputTokens = input;
  if (output !== undefined) usage.outputTokens = output;
  if (total !== undefined) usage.totalTokens = total;
  else if (input !== undefined && output !== undefined) usage.totalTokens = input + output;
  // Zero cache and reasoning counts are noise on every event; only report what happened.
  if (cacheRead) usage.cacheReadTokens = cacheRead;
  if (cacheWrite) usage.cacheWriteTokens = cacheWrite;
  if (reasoning) usage.reasoningTokens = reasoning;
  return Object.keys(usage).length > 0 ? usage : undefined;
}

function first(bag: Bag, keys: readonly string[]): number | undefined {
  for (const key of keys) {
    const value = bag[key];
    if (typeof value === "number" && Number.isFinite(value)) return value;
  }
  return undefined;
}

/** Sum `detailKeys` over a details object, or over an array of them (the SDK's `Usage`). */
function fromDetails(
  bag: Bag,
  containers: readonly string[],
  detailKeys: readonly string[],
): number | undefined {
  for (const container of containers) {
    const details = bag[container];
    if (!Array.isArray(details)) {
      const n = isBag(details) ? first(details, detailKeys) : undefined;
      if (n !== undefined) return n;
      continue;
    }
    let sum: number | undefined;
    for (const item of details) {
      if (!isBag(item)) continue;
      const n = first(item, detailKeys);
      if (n !== undefined) sum = (sum ?? 0) + n;
    }
    if (sum !== undefined) return sum;
  }
  return undefined;
}

function isBag(value: unknown): value is Bag {
  return typeof value === "object" && value !== null;
}

/** The counts the SDK rolls up from runs nested in a turn, and that are taken back out. */
const COUNT_KEYS = [
  "inputTokens",
  "outputTokens",
  "cacheReadTokens",
  "cacheWriteTokens",
  "reasoningTokens",
] as const;

/** Add `more`'s counts into `into` (a running total of what nested model calls reported). */
export function addUsage(into: TokenUsage, more: TokenUsage): void {
  for (const key of COUNT_KEYS) {
    const value = more[key];
    if (typeof value === "number") into[key] = (into[key] ?? 0) + value;
  }
}

/** `total` minus `nested`, never below zero, with the total recomputed from what is left. */
export function withoutNested(total: TokenUsage, nested: TokenUsage): TokenUsage {
  const own: TokenUsage = { ...total };
  for (const key of COUNT_KEYS) {
    const value = own[key];
    const less = nested[key];
    if (typeof value === "number" && typeof less === "number") own[key] = Math.max(0, value - less);
  }
  if (own.inputTokens !== undefined || own.outputTokens !== undefined)
    own.totalTokens = (own.inputTokens ?? 0) + (own.outputTokens ?? 0);
  return own;
}
