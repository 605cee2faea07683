/**
 * Which agents hold their agent stream (`GET /v1/agents/:agent/stream`) on this hub, and when
 * each was last seen. In memory, per hub: across several hubs on one Postgres database an agent
 * is online on the hub its runner is connected to (sharing it would cost a write per connect
 * and a heartbeat per hub; a client asking every hub, or a sticky balancer, sees it whole).
 */
export interface AgentPresence {
  agent: string;
  online: boolean;
  /** Now while online; when its last stream closed otherwise. */
  lastSeenAt: string;
}

interface Entry {
  streams: number;
  lastSeenAt: number;
}

/**
 * Offline agents remembered per org, oldest forgotten first: a runner that churns through
 * generated agent names must not grow the hub's memory without bound.
 */
export const MAX_REMEMBERED_AGENTS = 10_000;

export class Presence {
  readonly #orgs = new Map<string, Map<string, Entry>>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** An agent stream opened; call the returned function once when it closes. */
  open(org: string, agent: string): () => void {
    let agents = this.#orgs.get(org);
    if (!agents) {
      agents = new Map();
      this.#orgs.set(org, agents);
    }
    const entry = agents.get(agent) ?? { streams: 0, lastSeenAt: 0 };
    entry.streams += 1;
    entry.lastSeenAt = this.#now();
    agents.delete(agent);
    agents.set(agent, entry);
    let closed = false;
    return () => {
      if (closed) return;
      closed = true;
      entry.streams -= 1;
      entry.lastSeenAt = this.#now();
      // Most recently seen last, so eviction below takes the longest gone.
      agents.delete(agent);
      agents.set(agent, entry);
      this.#evict(agents);
    };
  }

  /** Every agent of `org` seen on this hub, online ones included. */
  list(org: string): AgentPresence[] {
    const now = this.#now();
    return [...(this.#orgs.get(org) ?? new Map<string, Entry>())].map(([agent, entry]) => ({
      agent,
      online: entry.streams > 0,
      lastSeenAt: new Date(entry.streams > 0 ? now : entry.lastSeenAt).toISOString(),
    }));
  }

  #evict(agents: Map<string, Entry>): void {
    if (agents.size <= MAX_REMEMBERED_AGENTS) return;
    for (const [agent, entry] of agents) {
      if (agents.size <= MAX_REMEMBERED_AGENTS) return;
      if (entry.streams === 0) agents.delete(agent);
    }
  }
}
