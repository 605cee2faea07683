import type { RateLimit } from "./config.js";

/** Addresses tracked at once; past this the oldest entry is forgotten (bounded memory under a spray of sources). */
const MAX_TRACKED_ADDRESSES = 10_000;

/**
 * Counts failed authentications (HTTP 401s and refused MQTT CONNECTs) per remote address and
 * refuses further attempts from an address past the limit until its window ends. The check runs
 * before the key is looked at: otherwise a guess that happens to be right would still get in
 * while "blocked", and the limit would slow nothing. One per hub; nothing global.
 */
export class AuthFailureThrottle {
  readonly #limit: RateLimit;
  readonly #byAddress = new Map<string, { failures: number; resetAt: number }>();

  constructor(limit: RateLimit) {
    this.#limit = limit;
  }

  /** Milliseconds until `address` may try again, or undefined when it may now. */
  blockedFor(address: string | undefined, now = Date.now()): number | undefined {
    if (address === undefined) return undefined;
    const entry = this.#byAddress.get(address);
    if (!entry) return undefined;
    if (entry.resetAt <= now) {
      this.#byAddress.delete(address);
      return undefined;
    }
    return entry.failures >= this.#limit.max ? entry.resetAt - now : undefined;
  }

  /** Record one failed authentication from `address`. */
  fail(address: string | undefined, now = Date.now()): void {
    if (address === undefined) return;
    const entry = this.#byAddress.get(address);
    if (entry && entry.resetAt > now) {
      entry.failures++;
      return;
    }
    if (this.#byAddress.size >= MAX_TRACKED_ADDRESSES) {
      const oldest = this.#byAddress.keys().next().value;
      if (oldest !== undefined) this.#byAddress.delete(oldest);
    }
    this.#byAddress.set(address, { failures: 1, resetAt: now + this.#limit.windowMs });
  }
}
