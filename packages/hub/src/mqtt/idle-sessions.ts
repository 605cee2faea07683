/**
 * How long a persistent session (`clean=false`) outlives its connection. The broker keeps such
 * a session's subscriptions in memory (about 0.7 KB a filter) until the same client id comes
 * back; a client that connects with a fresh random id each time (a common misconfiguration)
 * left one behind per connection, for ever: 200 of them with 1,000 filters held 140 MB. Delivery
 * is QoS 0, so nothing queues for an absent client and a session saves only re-subscribing:
 * an hour covers restarts and network outages.
 */
export const IDLE_SESSION_TTL_MS = 60 * 60 * 1000;
/** Disconnected persistent sessions kept per org; past it the oldest goes first. */
export const MAX_IDLE_SESSIONS_PER_ORG = 1000;
/** How often expired sessions are looked for. */
export const IDLE_SWEEP_INTERVAL_MS = 60 * 1000;

/**
 * Persistent sessions whose client is gone, per org, oldest first, and which to forget: past
 * {@link IDLE_SESSION_TTL_MS}, or past {@link MAX_IDLE_SESSIONS_PER_ORG} in one org.
 * `forget(clientId)` removes the session from the broker.
 */
export class IdleSessions {
  /** Org → client id → when its connection ended (epoch ms), in that order. */
  readonly #byOrg = new Map<string, Map<string, number>>();
  readonly #forget: (clientId: string, org: string) => void;

  constructor(forget: (clientId: string, org: string) => void) {
    this.#forget = forget;
  }

  /** The session's client disconnected at `now`. */
  add(org: string, clientId: string, now = Date.now()): void {
    let idle = this.#byOrg.get(org);
    if (idle === undefined) {
      idle = new Map();
      this.#byOrg.set(org, idle);
    }
    idle.delete(clientId);
    idle.set(clientId, now);
    while (idle.size > MAX_IDLE_SESSIONS_PER_ORG) {
      const oldest = idle.keys().next().value as string;
      idle.delete(oldest);
      this.#forget(oldest, org);
    }
  }

  /** The session's client is back, or the session ended (a `clean=true` CONNECT): not idle. */
  delete(org: string, clientId: string): void {
    const idle = this.#byOrg.get(org);
    if (idle?.delete(clientId) && idle.size === 0) this.#byOrg.delete(org);
  }

  /** Forget every session idle since before `now - IDLE_SESSION_TTL_MS`. */
  sweep(now = Date.now()): void {
    const cutoff = now - IDLE_SESSION_TTL_MS;
    for (const [org, idle] of this.#byOrg) {
      for (const [clientId, since] of idle) {
        if (since > cutoff) break;
        idle.delete(clientId);
        this.#forget(clientId, org);
      }
      if (idle.size === 0) this.#byOrg.delete(org);
    }
  }

  get size(): number {
    let size = 0;
    for (const idle of this.#byOrg.values()) size += idle.size;
    return size;
  }

  clear(): void {
    this.#byOrg.clear();
  }
}
