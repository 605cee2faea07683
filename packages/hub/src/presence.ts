import { randomUUID } from "node:crypto";
import { DEFAULT_PRESENCE_LEASE_MS, type HubLogger } from "./config.js";
import type { Store } from "./store/types.js";

/**
 * Which agents hold their agent stream (`GET /v1/agents/:agent/stream`), across every hub on
 * the store. Each hub keeps the count of the streams it holds per agent (the truth about
 * itself), writes it to the store's presence rows under its own id, and renews those rows on a
 * timer. A reader on any hub asks the store: an agent is online while some hub holds a stream
 * of it and renewed it within one lease. A hub that shuts down releases its rows; one that is
 * killed stops renewing, and its agents go offline once the lease has passed.
 */
export interface AgentPresence {
  agent: string;
  online: boolean;
  /** Now while online; otherwise the last time a hub saw it (a stream closed, a renewal). */
  lastSeenAt: string;
}

/**
 * Agents listed per org, most recently seen first: a runner that churns through generated agent
 * names must not make `GET /v1/agents` (and its live stream) grow without bound.
 */
export const MAX_LISTED_AGENTS = 10_000;
/** Renewals per lease: a renewal can be late or lost twice before an agent flickers offline. */
const RENEWALS_PER_LEASE = 3;

export interface PresenceOptions {
  store: Store;
  logger: HubLogger;
  leaseMs?: number;
  now?: () => number;
}

type Listener = () => void;

export class Presence {
  /** This hub's id in the store's presence rows: new for every start. */
  readonly hub = randomUUID();
  readonly leaseMs: number;
  readonly #store: Store;
  readonly #logger: HubLogger;
  readonly #now: () => number;
  /** org → agent → streams this hub holds. */
  readonly #held = new Map<string, Map<string, number>>();
  /** Holds whose last write failed (store away): written again on the next renewal. */
  readonly #unwritten = new Set<string>();
  readonly #listeners = new Map<string, Set<Listener>>();
  /** Writes go out one at a time, in order, so the store always ends with the latest count. */
  #writes: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #renewals = 0;
  #closed = false;

  constructor(options: PresenceOptions) {
    this.#store = options.store;
    this.#logger = options.logger;
    this.leaseMs = options.leaseMs ?? DEFAULT_PRESENCE_LEASE_MS;
    this.#now = options.now ?? Date.now;
  }

  /** Renew this hub's holds every third of a lease, and tell watchers to look again. */
  start(): void {
    this.#timer = setInterval(() => this.#renew(), this.leaseMs / RENEWALS_PER_LEASE);
    this.#timer.unref();
  }

  /** An agent stream opened on this hub; call the returned function once when it closes. */
  open(org: string, agent: string): () => void {
    this.#count(org, agent, +1);
    let closed = false;
    return () => {
      if (closed) return;
      closed = true;
      this.#count(org, agent, -1);
    };
  }

  /** Every agent of `org` seen on any hub of this store, online first. */
  async list(org: string): Promise<AgentPresence[]> {
    const now = this.#now();
    const rows = await this.#store.listPresence(org, now - this.leaseMs, MAX_LISTED_AGENTS);
    return rows.map((row) => ({
      agent: row.agent,
      online: row.online,
      lastSeenAt: new Date(row.online ? now : row.lastSeenMs).toISOString(),
    }));
  }

  /**
   * Be told when `org`'s presence may have changed: at once for a stream opening or closing on
   * this hub (once the store has it) or on another hub of a shared store (its notification, see
   * {@link changedElsewhere}), and at every renewal for leases that ran out and for anything a
   * lost notification did not say. Returns the unsubscribe.
   */
  watch(org: string, listener: Listener): () => void {
    let set = this.#listeners.get(org);
    if (!set) {
      set = new Set();
      this.#listeners.set(org, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.#listeners.delete(org);
    };
  }

  /** Release this hub's holds in the store (a clean shutdown), after the writes still going. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#listeners.clear();
    await this.#writes;
    await this.#store
      .releasePresence(this.hub, this.#now())
      .catch((error: unknown) => this.#warn("releasing presence failed", error));
  }

  #count(org: string, agent: string, delta: number): void {
    let agents = this.#held.get(org);
    if (!agents) {
      agents = new Map();
      this.#held.set(org, agents);
    }
    const streams = (agents.get(agent) ?? 0) + delta;
    if (streams > 0) agents.set(agent, streams);
    else agents.delete(agent);
    if (agents.size === 0) this.#held.delete(org);
    if (this.#closed) return; // shutting down: the release covers it
    this.#enqueue(async () => {
      await this.#write(org, agent);
      this.#notify(org);
    });
  }

  /** Write this hub's current count of one agent (not the delta: the latest write wins). */
  async #write(org: string, agent: string): Promise<void> {
    const key = JSON.stringify([org, agent]);
    const streams = this.#held.get(org)?.get(agent) ?? 0;
    try {
      await this.#store.setPresence({ org, agent, hub: this.hub, streams }, this.#now());
      this.#unwritten.delete(key);
    } catch (error) {
      this.#unwritten.add(key);
      this.#warn("writing presence failed; trying again at the next renewal", error);
    }
  }

  #renew(): void {
    if (this.#closed) return;
    this.#enqueue(async () => {
      for (const key of [...this.#unwritten]) {
        const [org, agent] = JSON.parse(key) as [string, string];
        await this.#write(org, agent);
      }
      const now = this.#now();
      try {
        await this.#store.renewPresence(this.hub, now);
        // Once a lease is plenty for what only bounds the table.
        if (++this.#renewals % RENEWALS_PER_LEASE === 0) {
          await this.#store.prunePresence(now - this.leaseMs);
        }
      } catch (error) {
        this.#warn("renewing presence failed", error);
      }
      for (const org of [...this.#listeners.keys()]) this.#notify(org);
    });
  }

  #enqueue(work: () => Promise<void>): void {
    this.#writes = this.#writes.then(work);
  }

  /**
   * `org`'s presence changed on another hub (the store's cross-hub wake-up says so; this hub's
   * own writes come back too, and a look that finds nothing new sends nothing).
   */
  changedElsewhere(org: string): void {
    if (!this.#closed) this.#notify(org);
  }

  #notify(org: string): void {
    for (const listener of this.#listeners.get(org) ?? []) {
      try {
        listener();
      } catch (error) {
        this.#warn("a presence watcher failed", error);
      }
    }
  }

  #warn(message: string, error: unknown): void {
    this.#logger.warn(message, { error: error instanceof Error ? error.message : String(error) });
  }
}
