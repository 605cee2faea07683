import type { ChorusEvent } from "./event.js";

export type IntentStatus = "draft" | "active" | "blocked" | "completed" | "cancelled";
export const STATUSES: readonly IntentStatus[] = [
  "draft",
  "active",
  "blocked",
  "completed",
  "cancelled",
];

export interface IntentView {
  id: string;
  title: string;
  description?: string;
  status: IntentStatus;
  state: Record<string, unknown>;
  version: number;
  assignees: string[];
  createdBy?: string;
  createdAt: string;
  updatedAt: string;
}

/** One step of an intent's state: the merge patch and the values it replaced. */
export interface StateStep {
  version: number;
  at: string;
  agent: string | undefined;
  patch: Record<string, unknown>;
  before: Record<string, unknown>;
}

export interface IntentRecord {
  intent: IntentView;
  history: StateStep[];
  log: ChorusEvent[];
}

/**
 * Move the board forward by one event of the `intents` channel. The log is the source of
 * truth: `intent.created` carries the whole intent, later events carry what changed.
 */
export function foldBoard(board: Map<string, IntentRecord>, e: ChorusEvent): void {
  if (!e.intentId) return;
  const p = e.payload ?? {};
  if (e.type === "intent.created") {
    const intent = p.intent as IntentView | undefined;
    if (intent) board.set(e.intentId, { intent: { ...intent }, history: [], log: [e] });
    return;
  }
  const record = board.get(e.intentId);
  if (!record) return; // created before the retained history: nothing to fold onto
  record.log.push(e);
  const intent = { ...record.intent, updatedAt: e.occurredAt };
  switch (e.type) {
    case "intent.state_changed": {
      const state = (p.state as Record<string, unknown>) ?? intent.state;
      const patch = (p.patch as Record<string, unknown>) ?? {};
      record.history.push({
        version: Number(p.version),
        at: e.occurredAt,
        agent: e.agent,
        patch,
        before: intent.state,
      });
      intent.state = state;
      intent.version = Number(p.version);
      break;
    }
    case "intent.status_changed":
      intent.status = p.to as IntentStatus;
      intent.version = Number(p.version);
      break;
    case "intent.assigned":
    case "intent.unassigned": {
      const agent = typeof p.agent === "string" ? p.agent : undefined;
      if (!agent) break;
      const others = intent.assignees.filter((a) => a !== agent);
      intent.assignees = e.type === "intent.assigned" ? [...others, agent] : others;
      break;
    }
  }
  record.intent = intent;
}

/** An agent's presence as `GET /v1/agents` reports it. */
export interface AgentPresence {
  agent: string;
  online: boolean;
  lastSeenAt?: string | undefined;
  intents?: string[] | undefined;
}

/** Accepts `{ data: [...] }` or a bare list, each entry naming its agent as `agent` or `name`. */
export function parsePresence(body: unknown): AgentPresence[] {
  const list = Array.isArray(body) ? body : (body as { data?: unknown })?.data;
  if (!Array.isArray(list)) return [];
  return list.flatMap((entry) => {
    const a = entry as Record<string, unknown>;
    const agent =
      typeof a.agent === "string" ? a.agent : typeof a.name === "string" ? a.name : undefined;
    if (!agent) return [];
    const intents = Array.isArray(a.intents)
      ? a.intents.map((i) => (typeof i === "string" ? i : String((i as { id?: unknown })?.id)))
      : undefined;
    return [
      { agent, online: a.online === true, lastSeenAt: a.lastSeenAt as string | undefined, intents },
    ];
  });
}
