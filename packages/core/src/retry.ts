import { ConnectionError, RateLimitError } from "./errors.js";

/**
 * The one place that decides what is retried. Retries happen only for network errors,
 * timeouts, 408, 429 and 5xx. A request that may have reached the hub is retried only when it
 * is idempotent (a GET, or a publish whose event ids make a second copy harmless); one that
 * certainly did not (refused connection, 408, 429, 503) is always safe to send again.
 */
export function isRetryable(error: unknown, idempotent: boolean): boolean {
  if (error instanceof RateLimitError) return true;
  if (!(error instanceof ConnectionError)) return false;
  switch (error.reason) {
    case "refused":
      return true;
    case "network":
    case "timeout":
      return idempotent;
    case "unavailable":
      return idempotent || error.status === 408 || error.status === 503;
    default:
      return false;
  }
}

/** HTTP statuses that mean "try again later" rather than "fix your request". */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * Whether a failure says the hub is unavailable (counts toward opening the circuit). A 429 does
 * not: the hub is up and answering, it just wants us slower, and `Retry-After` handles that.
 */
export function isAvailabilityFailure(error: unknown): boolean {
  return (
    error instanceof ConnectionError &&
    (error.reason === "refused" ||
      error.reason === "network" ||
      error.reason === "timeout" ||
      error.reason === "unavailable")
  );
}

/** The `Retry-After` a failure carried, if any. */
export function retryAfterOf(error: unknown): number | undefined {
  if (error instanceof RateLimitError || error instanceof ConnectionError)
    return error.retryAfterMs;
  return undefined;
}
