import type { RateLimit } from "../config.js";

/** Keys whose budget is tracked at once; a full table first drops keys whose budget is whole. */
const MAX_TRACKED_KEYS = 10_000;

/**
 * The hub's per-key rate limit (`rateLimit`, requests per window) for MQTT publishes, which HTTP's
 * limiter never sees: without it a key held to 60,000 requests a minute over HTTP could publish
 * without bound over MQTT.
 *
 * MQTT 3.1.1 has no way to refuse a publish but closing the connection, so a publish past the
 * budget is not refused: its ingest is delayed to when the budget allows it. aedes reads a
 * client's next packets only once those already read are handled, so a delayed publish holds the
 * client back at TCP's pace, and nothing is lost or acknowledged early.
 *
 * Generic cell rate algorithm: one publish per `windowMs / max`, bursts of up to `max`, the
 * same allowance as the HTTP limiter's window; one number per key.
 */
export class PublishThrottle {
  readonly #interval: number;
  readonly #burst: number;
  /** Key id → the time its budget is next whole ("theoretical arrival time"), epoch ms. */
  readonly #due = new Map<string, number>();

  constructor(limit: RateLimit) {
    this.#interval = limit.windowMs / limit.max;
    // `max` at once, the next one an interval later.
    this.#burst = limit.windowMs - this.#interval;
  }

  /** Count one publish of `keyId`: how long to hold it, in ms (0: at once). */
  delay(keyId: string, now = Date.now()): number {
    const due = Math.max(this.#due.get(keyId) ?? now, now);
    if (!this.#due.has(keyId) && this.#due.size >= MAX_TRACKED_KEYS) this.#prune(now);
    this.#due.set(keyId, due + this.#interval);
    return Math.max(0, Math.ceil(due - this.#burst - now));
  }

  #prune(now: number): void {
    for (const [keyId, due] of this.#due) if (due <= now) this.#due.delete(keyId);
    // Every tracked key is mid-burst: forget the oldest rather than grow.
    if (this.#due.size >= MAX_TRACKED_KEYS) {
      const oldest = this.#due.keys().next().value as string;
      this.#due.delete(oldest);
    }
  }
}
