import { ErrorCodes } from "@chorus/protocol/wire";

/**
 * What a failure means for whoever is deciding what to do next. The one place that decides what
 * is retryable: the transport's bounded retries, the flusher's requeue, the circuit breaker, the
 * SSE stream's reconnect, fail-open and the agents runner all ask {@link classify}.
 */
export interface ErrorClass {
  /**
   * `caller`: the request, the key or the client's use needs a fix (400, 401, 403, 404, 409,
   * 413, 415, 422); retrying cannot help and fail-open never hides it.
   * `availability`: the hub is away, failing or busy (network, timeout, 5xx, 408, 429, open
   * circuit); what fail-open answers with `undefined` and a strict view throws as `ConnectionError`.
   */
  kind: "caller" | "availability";
  /** Waiting and sending again may succeed. */
  retryable: boolean;
  /**
   * The request may have been applied before it failed (a broken connection after sending, a
   * timeout, a 500): only an idempotent request may be sent again. A refused connection, 408,
   * 429 and 503 were certainly not applied.
   */
  mayHaveApplied: boolean;
  /** The failure says the hub is away (counts toward opening the circuit). A 429 does not: the hub is answering. */
  outage: boolean;
  /** How long the hub asked us to wait (`Retry-After`), when it did. */
  retryAfterMs: number | undefined;
}

/**
 * Classify any failure. Errors are read by their `code`, `reason` and `status` rather than by
 * `instanceof`, so an error from another copy of @chorus/core (ESM next to CJS) is understood
 * the same. A failure that is not a Chorus error at all (a bug, an exotic `fetch`) is an
 * availability failure that is not retried: fail-open still hides it, nothing loops on it.
 *
 * @example
 * const { retryable, retryAfterMs } = classify(error);
 */
export function classify(error: unknown): ErrorClass {
  const { code, reason, status, retryAfterMs } = fieldsOf(error);
  const is = (
    kind: ErrorClass["kind"],
    retryable: boolean,
    mayHaveApplied: boolean,
    outage: boolean,
  ) => ({ kind, retryable, mayHaveApplied, outage, retryAfterMs }) satisfies ErrorClass;
  if (code === ErrorCodes.RateLimited) return is("availability", true, false, false);
  if (code === ErrorCodes.Unavailable || code === ErrorCodes.Internal) {
    switch (reason) {
      case "refused":
        return is("availability", true, false, true);
      case "circuit_open":
        return is("availability", true, false, false);
      case "network":
      case "timeout":
        return is("availability", true, true, true);
      case "auth_failed":
      case "closed":
        // A refused broker login or a closed client: waiting will not fix it.
        return is("availability", false, false, false);
      default: {
        // An answer from the hub: 5xx, 408, or a 429 that fail-open turned into a ConnectionError.
        const notApplied = status === 408 || status === 429 || status === 503;
        return is("availability", true, !notApplied, status !== 429);
      }
    }
  }
  if (typeof code === "string" && KNOWN_CODES.has(code)) return is("caller", false, false, false);
  return is("availability", false, true, false);
}

/** Whether sending `request` again after `error` is both useful and harmless. */
export function shouldResend(error: unknown, idempotent: boolean): boolean {
  const c = classify(error);
  return c.retryable && c.kind === "availability" && (idempotent || !c.mayHaveApplied);
}

const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCodes));

function fieldsOf(error: unknown): {
  code: unknown;
  reason: unknown;
  status: number | undefined;
  retryAfterMs: number | undefined;
} {
  if (typeof error !== "object" || error === null) {
    return { code: undefined, reason: undefined, status: undefined, retryAfterMs: undefined };
  }
  const e = error as { code?: unknown; reason?: unknown; status?: unknown; retryAfterMs?: unknown };
  return {
    code: e.code,
    reason: e.reason,
    status: typeof e.status === "number" ? e.status : undefined,
    retryAfterMs: typeof e.retryAfterMs === "number" ? e.retryAfterMs : undefined,
  };
}
