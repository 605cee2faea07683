import { type ChorusEvent, count, record, text } from "./event.js";

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
  // Any publisher can put an event on this channel: every field is read by its type.
  const p = record(e.payload) ?? {};
  if (e.type === "intent.created") {
    const intent = readIntent(p.intent, e);
    if (intent) board.set(e.intentId, { intent, history: [], log: [e] });
    return;
  }
  const entry = board.get(e.intentId);
  if (!entry) return; // created before the retained history: nothing to fold onto
  entry.log.push(e);
  // The hub's clock, not the publisher's: an event on this channel may claim any occurredAt
  // (a 2099 date would sort its intent first for ever).
  const at = text(e.receivedAt) ?? e.occurredAt;
  const intent = { ...entry.intent, updatedAt: at };
  switch (e.type) {
    case "intent.state_changed": {
      const version = count(p.version) ?? intent.version;
      entry.history.push({
        version,
        at,
        agent: e.agent,
        patch: record(p.patch) ?? {},
        before: intent.state,
      });
      intent.state = record(p.state) ?? intent.state;
      intent.version = version;
      break;
    }
    case "intent.status_changed": {
      const to = text(p.to);
      if (to) intent.status = to as IntentStatus;
      intent.version = count(p.version) ?? intent.version;
      break;
    }
    case "intent.assigned":
    case "intent.unassigned": {
      const agent = text(p.agent);
      if (!agent) break;
      const others = intent.assignees.filter((a) => a !== agent);
      intent.assignees = e.type === "intent.assigned" ? [...others, agent] : others;
      break;
    }
  }
  entry.intent = intent;
}

/** The intent an `intent.created` event carries, each field of the type the board draws. */
function readIntent(value: unknown, e: ChorusEvent): IntentView | undefined {
  const i = record(value);
  if (!i) return undefined;
  const description = text(i.description);
  const createdBy = text(i.createdBy);
  return {
    id: e.intentId as string, // the board and links key intents by the event's intentId
    title: text(i.title) ?? "(untitled)",
    ...(description === undefined ? {} : { description }),
    status: (text(i.status) ?? "draft") as IntentStatus,
    state: record(i.state) ?? {},
    version: count(i.version) ?? 1,
    assignees: Array.isArray(i.assignees)
      ? i.assignees.filter((a): a is string => typeof a === "string")
      : [],
    ...(createdBy === undefined ? {} : { createdBy }),
    createdAt: text(i.createdAt) ?? e.occurredAt,
    updatedAt: text(i.updatedAt) ?? e.occurredAt,
  };
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
