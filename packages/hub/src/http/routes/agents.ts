import { INTENT_TRANSITIONS, type IntentStatus, MAX_PAGE_LIMIT } from "@chorus/protocol";
import type { FastifyInstance } from "fastify";
import type { HubContext } from "../../context.js";
import { AgentFeeds } from "../agents-stream.js";
import { principalOf } from "../auth-hook.js";

/** Statuses an intent can still leave: its assignees hold it. */
const OPEN_STATUSES = (Object.keys(INTENT_TRANSITIONS) as IntentStatus[]).filter(
  (s) => INTENT_TRANSITIONS[s].length > 0,
);
/**
 * Open intents read to find who holds what: bounds the work of one request on an org with a
 * huge backlog. Past it the answer says `partial: true`.
 */
export const MAX_SCANNED_INTENTS = 10_000;

/** One intent an agent holds, as `GET /v1/agents` names it. */
export interface HeldIntent {
  id: string;
  title: string;
  status: IntentStatus;
}

/** One entry of `GET /v1/agents`. */
export interface AgentEntry {
  agent: string;
  /** A runner holds the agent's stream, on any hub of this store (within the presence lease). */
  online: boolean;
  /** Now while online, when a hub last saw it otherwise; null if never seen. */
  lastSeenAt: string | null;
  intents: HeldIntent[];
}

/** The body of `GET /v1/agents`. */
export interface AgentsBody {
  data: AgentEntry[];
  /** Set when more open intents exist than one answer reads (see MAX_SCANNED_INTENTS). */
  partial?: true;
}

/**
 * `GET /v1/agents`: the org's agents, those seen on any hub's agent streams and those assigned
 * to an open intent, each with `online`, `lastSeenAt` and the intents it holds. Online first,
 * then by name. With `Accept: text/event-stream` the same body streams live (see AgentFeeds).
 */
export function registerAgentRoutes(
  app: FastifyInstance,
  ctx: HubContext,
  options: { pingIntervalMs: number },
): void {
  const feeds = new AgentFeeds(ctx, {
    read: (org) => listAgents(ctx, org),
    changeKey: (body) => changeKey(body as AgentsBody),
    pingIntervalMs: options.pingIntervalMs,
  });
  app.get("/v1/agents", { config: { scope: "read" } }, async (request, reply) => {
    const { org, keyId } = principalOf(request);
    if (wantsEventStream(request.headers.accept)) {
      feeds.open(request, reply, org, keyId);
      return reply;
    }
    return listAgents(ctx, org);
  });
}

/** Whether a request asks for the stream rather than the JSON answer. */
function wantsEventStream(accept: string | undefined): boolean {
  return accept !== undefined && /(^|,)\s*text\/event-stream\s*(;|,|$)/i.test(accept);
}

async function listAgents(ctx: HubContext, org: string): Promise<AgentsBody> {
  const [{ held, partial }, seen] = await Promise.all([
    heldIntents(ctx, org),
    ctx.presence.list(org),
  ]);
  const entries = new Map<string, AgentEntry>();
  const entry = (agent: string) => {
    let e = entries.get(agent);
    if (!e) {
      e = { agent, online: false, lastSeenAt: null, intents: [] };
      entries.set(agent, e);
    }
    return e;
  };
  for (const s of seen)
    Object.assign(entry(s.agent), { online: s.online, lastSeenAt: s.lastSeenAt });
  for (const [agent, intents] of held) entry(agent).intents = intents;
  const data = [...entries.values()].sort(
    (a, b) => Number(b.online) - Number(a.online) || a.agent.localeCompare(b.agent),
  );
  return partial ? { data, partial } : { data };
}

/** An online agent's `lastSeenAt` is the time of the read: not a change worth sending. */
function changeKey(body: AgentsBody): string {
  return JSON.stringify({
    ...body,
    data: body.data.map((e) => (e.online ? { ...e, lastSeenAt: null } : e)),
  });
}

async function heldIntents(
  ctx: HubContext,
  org: string,
): Promise<{ held: Map<string, HeldIntent[]>; partial: boolean }> {
  const held = new Map<string, HeldIntent[]>();
  let scanned = 0;
  for (const status of OPEN_STATUSES) {
    let after: string | undefined;
    do {
      const limit = Math.min(MAX_PAGE_LIMIT, MAX_SCANNED_INTENTS - scanned);
      if (limit <= 0) return { held, partial: true };
      const page = await ctx.store.listIntents(org, { status, limit, ...(after ? { after } : {}) });
      scanned += page.data.length;
      for (const intent of page.data) {
        for (const agent of intent.assignees) {
          const list = held.get(agent) ?? [];
          list.push({ id: intent.id, title: intent.title, status: intent.status });
          held.set(agent, list);
        }
      }
      after = page.next;
    } while (after !== undefined);
  }
  return { held, partial: false };
}
