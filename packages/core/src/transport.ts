import { type BackoffPolicy, retryDelay } from "./backoff.js";
import type { CircuitBreaker } from "./circuit-breaker.js";
import { ChorusError, ConnectionError } from "./errors.js";
import type { HttpClient, HttpRequest, HttpResponse } from "./http.js";
import { classify, shouldResend } from "./classify.js";

/**
 * An awaited call waits at most this long between two attempts: a caller is waiting, so when the
 * hub asks for a longer pause the call gives up (and fail-open answers) instead.
 */
export const MAX_AWAITED_RETRY_DELAY_MS = 5000;

export interface CallOptions {
  /** Whether sending the request twice is harmless (GET, or a body whose ids deduplicate). */
  idempotent: boolean;
}

/**
 * Awaitable calls (`events.*`, `intents.*`, credentials): the HTTP chokepoint plus the circuit
 * breaker and bounded retries. Background delivery has its own loop in the flusher, which
 * requeues instead of waiting.
 */
export class Transport {
  readonly #http: HttpClient;
  readonly #breaker: CircuitBreaker;
  readonly #policy: BackoffPolicy;
  readonly #maxRetries: number;

  constructor(
    http: HttpClient,
    breaker: CircuitBreaker,
    policy: BackoffPolicy,
    maxRetries: number,
  ) {
    this.#http = http;
    this.#breaker = breaker;
    this.#policy = policy;
    this.#maxRetries = maxRetries;
  }

  async call(request: HttpRequest, options: CallOptions): Promise<HttpResponse> {
    for (let attempt = 0; ; attempt++) {
      if (!this.#breaker.tryAcquire()) {
        throw new ConnectionError("the hub is unavailable (circuit open); not sending", {
          reason: "circuit_open",
        });
      }
      try {
        const response = await this.#http.send(request);
        this.#breaker.onSuccess();
        return response;
      } catch (error) {
        recordOutcome(this.#breaker, error);
        const delay = retryDelay(attempt, this.#policy, classify(error).retryAfterMs);
        const retry =
          attempt < this.#maxRetries &&
          shouldResend(error, options.idempotent) &&
          delay <= MAX_AWAITED_RETRY_DELAY_MS;
        if (!retry) throw error;
        // Ended early by close() in Node: the attempt after it then fails as closed, unsent.
        await this.#http.wait(delay);
      }
    }
  }
}

/** Tell the breaker what a failed request says about the hub. */
export function recordOutcome(breaker: CircuitBreaker, error: unknown): void {
  if (classify(error).outage) breaker.onFailure();
  else if (error instanceof ConnectionError && error.reason === "closed") breaker.release();
  else if (error instanceof ChorusError)
    breaker.onSuccess(); // the hub answered
  else breaker.release();
}
