import { classify } from "./classify.js";
import { ChorusError, ConnectionError, RateLimitError } from "./errors.js";
import type { Diagnostics } from "./logger.js";

export interface FailOpenPolicy {
  failOpen: boolean;
  diagnostics: Diagnostics;
}

/**
 * The fail-open chokepoint of every awaitable call. Caller errors (invalid arguments, 400, 401,
 * 403, 404, 409, 422, ...) always throw: they need a fix, not a retry. Availability failures
 * (network, timeout, 5xx, 429 after retries, open circuit) return `fallback` and log a
 * rate-limited warning when `failOpen` is on, and throw a {@link ConnectionError} when it is off.
 */
export async function failOpen<T>(
  policy: FailOpenPolicy,
  operation: string,
  fallback: T,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (classify(error).kind === "caller") throw error;
    const availability = asConnectionError(error);
    if (!policy.failOpen) throw availability;
    policy.diagnostics.report(availability, { operation });
    policy.diagnostics.warnRateLimited(
      `unavailable:${operation}`,
      `${operation} failed open: ${availability.message}`,
      { reason: availability.reason },
    );
    return fallback;
  }
}

/** Availability failures surface as {@link ConnectionError}, keeping the original as `cause`. */
export function asConnectionError(error: unknown): ConnectionError {
  if (error instanceof ConnectionError) return error;
  if (error instanceof RateLimitError) {
    return new ConnectionError(`rate limited by the hub: ${error.message}`, {
      reason: "unavailable",
      status: 429,
      ...(error.requestId === undefined ? {} : { requestId: error.requestId }),
      ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
      cause: error,
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ConnectionError(`unexpected failure: ${message}`, {
    reason: "network",
    cause: error,
    ...(error instanceof ChorusError && error.status !== undefined ? { status: error.status } : {}),
  });
}
