export type CircuitState = "closed" | "open" | "half_open";

export interface CircuitOptions {
  /** Consecutive availability failures that open the circuit. */
  failureThreshold: number;
  /** First open period; doubles (with jitter) each time a probe fails. */
  cooldownMs: number;
  /** Cap on the open period, so a hub that comes back is noticed within this long. */
  maxCooldownMs: number;
  now?: () => number;
  random?: () => number;
}

/**
 * Stops sending while the hub is down. After `failureThreshold` consecutive availability
 * failures the circuit opens; when the cooldown ends it is half-open and lets exactly one request
 * through as a probe. The probe's success closes it (and what queued meanwhile goes out); its
 * failure opens it again for a longer cooldown. Any HTTP answer that is not a 5xx or 408 proves
 * the hub is reachable and counts as success.
 */
export class CircuitBreaker {
  readonly #options: Required<CircuitOptions>;
  #state: CircuitState = "closed";
  #failures = 0;
  #openUntil = 0;
  #cooldown: number;
  #probeInFlight = false;

  constructor(options: CircuitOptions) {
    this.#options = { now: Date.now, random: Math.random, ...options };
    this.#cooldown = options.cooldownMs;
  }

  get state(): CircuitState {
    if (this.#state === "open" && this.#options.now() >= this.#openUntil) return "half_open";
    return this.#state;
  }

  /** Milliseconds until a request may be attempted (0 when one may go now). */
  get msUntilProbe(): number {
    if (this.#state === "closed") return 0;
    if (this.#state === "half_open") return this.#probeInFlight ? this.#cooldown : 0;
    return Math.max(0, this.#openUntil - this.#options.now());
  }

  /**
   * Ask to send one request. In the half-open state only one caller gets `true` (the probe)
   * until it reports back through {@link onSuccess} or {@link onFailure}.
   */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === "closed") return true;
    if (state === "open") return false;
    if (this.#probeInFlight) return false;
    this.#state = "half_open";
    this.#probeInFlight = true;
    return true;
  }

  onSuccess(): void {
    this.#state = "closed";
    this.#failures = 0;
    this.#probeInFlight = false;
    this.#cooldown = this.#options.cooldownMs;
  }

  onFailure(): void {
    this.#probeInFlight = false;
    if (this.#state === "half_open") {
      this.#cooldown = Math.min(this.#options.maxCooldownMs, this.#cooldown * 2);
      this.#open();
      return;
    }
    this.#failures++;
    if (this.#state === "closed" && this.#failures >= this.#options.failureThreshold) this.#open();
  }

  /** The request ended without telling us anything about the hub (e.g. aborted by the caller). */
  release(): void {
    this.#probeInFlight = false;
  }

  #open(): void {
    this.#state = "open";
    // ±20% jitter so many clients that saw the same outage do not probe in lockstep.
    const jitter = 0.8 + this.#options.random() * 0.4;
    this.#openUntil = this.#options.now() + Math.round(this.#cooldown * jitter);
  }
}
