import type { Client } from "aedes";
import type { Principal } from "../auth.js";
import { IdleSessions } from "./idle-sessions.js";

/** A realtime token carries its expiry; an API key does not. */
export type MqttPrincipal = Principal & { expiresAt?: number };

/**
 * Subscription filters one connection may hold. Each costs the broker about 1.7 KB (its trie
 * node, the client's map entry, the session's copy): 400,000 filters from one client took 700 MB.
 * A watcher needs a handful, wildcards (`chorus/{org}/+/{channel}/#`) cover the rest; a filter
 * past this gets SUBACK 0x80 and the connection stays up.
 */
export const MAX_SUBSCRIPTIONS_PER_CLIENT = 1000;

/** setTimeout fires at once for delays past 2^31-1 ms; cap so a long-lived token still gets a timer. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Who each connection of one broker is, and when it must go. Kept per broker instance (never
 * module-global) so two hubs in one process never see each other's clients. Principals sit in a
 * WeakMap keyed by the aedes Client, so a client that never finished connecting leaves nothing.
 */
export class MqttSessions {
  readonly #principals = new WeakMap<Client, MqttPrincipal>();
  readonly #connected = new Set<Client>();
  /** Connected clients by MQTT client id, to keep one org from taking over another's id. */
  readonly #byId = new Map<string, Client>();
  /**
   * The org that owns each persistent session (`clean=false`) by client id, connected or not:
   * aedes keeps the session's subscriptions under the bare client id, so another org's CONNECT
   * with that id would resume it (`clean=false`) or wipe it (`clean=true`). The entry goes when
   * the owning org ends the session with a `clean=true` CONNECT, or the broker closes (the
   * sessions live in its memory).
   */
  readonly #owners = new Map<string, string>();
  readonly #expiryTimers = new Map<Client, NodeJS.Timeout>();
  /** Persistent sessions whose client is gone, forgotten after a while (see {@link IdleSessions}). */
  readonly #idle: IdleSessions;

  /** `forget(clientId)` removes a persistent session from the broker once it has been idle too long. */
  constructor(forget: (clientId: string) => void) {
    this.#idle = new IdleSessions((clientId, org) => {
      if (this.#owners.get(clientId) === org) this.#owners.delete(clientId);
      forget(clientId);
    });
  }
  /** The filters each connection was granted (see {@link MAX_SUBSCRIPTIONS_PER_CLIENT}). */
  readonly #filters = new WeakMap<Client, { held: Set<string>; refused: number }>();

  /**
   * Whether `client` may hold one more filter (one it holds already is always fine): "granted",
   * or "refused" the first time the connection hits the limit and "refused_again" after, so a
   * client sending thousands is logged once. Counted when granted, not when aedes has added the
   * filter, because the filters of one SUBSCRIBE are authorized together before any is added.
   */
  grantFilter(client: Client, filter: string): "granted" | "refused" | "refused_again" {
    let filters = this.#filters.get(client);
    if (filters === undefined) {
      filters = { held: new Set(), refused: 0 };
      this.#filters.set(client, filters);
    }
    if (filters.held.has(filter)) return "granted";
    if (filters.held.size >= MAX_SUBSCRIPTIONS_PER_CLIENT)
      return filters.refused++ === 0 ? "refused" : "refused_again";
    filters.held.add(filter);
    return "granted";
  }

  /** The client unsubscribed from `filters`. */
  releaseFilters(client: Client, filters: readonly string[]): void {
    const held = this.#filters.get(client)?.held;
    if (held) for (const filter of filters) held.delete(filter);
  }

  /** Called from `authenticate`, before the client is registered. */
  remember(client: Client, principal: MqttPrincipal): void {
    this.#principals.set(client, principal);
  }

  /** The client's principal while its credentials are valid; undefined once a token has expired. */
  principal(client: Client | null): MqttPrincipal | undefined {
    if (!client) return undefined;
    const principal = this.#principals.get(client);
    if (principal?.expiresAt !== undefined && principal.expiresAt <= Date.now()) return undefined;
    return principal;
  }

  /**
   * The org `clientId` belongs to: that of the connected client holding it, or of the persistent
   * session kept under it. A CONNECT with a taken id makes the broker close the holder
   * (MQTT-3.1.4-2) and resume or wipe its session: fine within an org; across orgs, a denial of
   * service and a session handed to a stranger, so the broker refuses it.
   */
  ownerOrg(clientId: string): string | undefined {
    const holder = this.#byId.get(clientId);
    const org = holder ? this.#principals.get(holder)?.org : undefined;
    return org ?? this.#owners.get(clientId);
  }

  /**
   * The client is registered. Returns false when it was already known, so gauges move once per
   * client however aedes orders its events. A realtime token's expiry calls `onExpired`.
   */
  connected(client: Client, onExpired: () => void): boolean {
    if (this.#connected.has(client)) return false;
    this.#connected.add(client);
    this.#byId.set(client.id, client);
    const org = this.#principals.get(client)?.org;
    if (org !== undefined) {
      if (client.clean === false) this.#owners.set(client.id, org);
      else if (this.#owners.get(client.id) === org) this.#owners.delete(client.id);
      this.#idle.delete(org, client.id);
    }
    const expiresAt = this.#principals.get(client)?.expiresAt;
    if (expiresAt !== undefined) {
      const delay = Math.min(Math.max(0, expiresAt - Date.now()), MAX_TIMER_MS);
      const timer = setTimeout(onExpired, delay);
      // An expiry timer must never be the thing that keeps a process alive.
      timer.unref();
      this.#expiryTimers.set(client, timer);
    }
    return true;
  }

  /** Returns false when the client was not connected (nothing to undo). */
  disconnected(client: Client): boolean {
    const timer = this.#expiryTimers.get(client);
    if (timer) clearTimeout(timer);
    this.#expiryTimers.delete(client);
    if (this.#byId.get(client.id) === client) {
      this.#byId.delete(client.id);
      // Kept for the client's return, unless another connection took the id over.
      const org = this.#principals.get(client)?.org;
      if (client.clean === false && org !== undefined && this.#owners.get(client.id) === org)
        this.#idle.add(org, client.id);
    }
    return this.#connected.delete(client);
  }

  get size(): number {
    return this.#connected.size;
  }

  /** Persistent sessions whose client is gone. */
  get idleSessions(): number {
    return this.#idle.size;
  }

  /** Forget the persistent sessions idle for longer than they are kept. */
  sweepIdle(now = Date.now()): void {
    this.#idle.sweep(now);
  }

  clear(): void {
    for (const timer of this.#expiryTimers.values()) clearTimeout(timer);
    this.#expiryTimers.clear();
    this.#connected.clear();
    this.#byId.clear();
    this.#owners.clear();
    this.#idle.clear();
  }
}
