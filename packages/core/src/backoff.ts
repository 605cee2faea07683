/** Exponential backoff with jitter, and `Retry-After` parsing. Pure functions. */

export interface BackoffPolicy {
  /** Delay before the first retry (before jitter). */
  baseMs: number;
  /** Cap on any one delay. */
  maxMs: number;
}

/** A hub asking for more than this is treated as asking for this: events keep queueing meanwhile. */
export const MAX_RETRY_AFTER_MS = 60_000;

/**
 * Delay before retry number `attempt` (0-based): `min(max, base * 2^attempt)`, then "equal
 * jitter" (a uniform pick in the upper half). Keeping half the delay fixed stops a fleet of
 * clients from hammering a hub that just came back; the random half spreads them out.
 */
export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(Math.max(0, attempt), 30));
  const half = exp / 2;
  return Math.round(half + random() * half);
}

/**
 * `Retry-After` as milliseconds: delta-seconds or an HTTP date. `undefined` when absent or
 * malformed; capped at {@link MAX_RETRY_AFTER_MS}.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === "") return undefined;
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(trimmed)) ms = Number(trimmed) * 1000;
  else {
    const date = Date.parse(trimmed);
    if (Number.isNaN(date)) return undefined;
    ms = date - now;
  }
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, Math.round(ms)));
}

/**
 * The wait before the next attempt: backoff, or the hub's `Retry-After` when that is longer.
 * `Retry-After` is the least wait, not a replacement for backoff: `0`, or an HTTP date already
 * past (a proxy's answer, or this machine's clock ahead of the server's), used to mean retry at
 * once, and a stream reconnected some 450 times a second against such a 503.
 */
export function retryDelay(
  attempt: number,
  policy: BackoffPolicy,
  retryAfterMs: number | undefined,
): number {
  return Math.max(retryAfterMs ?? 0, backoffDelay(attempt, policy));
}

/** A stream's reconnect delays: fast for a blip, capped so a long outage costs one attempt per 30 s. */
export const RECONNECT_BACKOFF: BackoffPolicy = { baseMs: 250, maxMs: 30_000 };
