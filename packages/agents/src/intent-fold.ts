import type { ChorusEvent, Intent } from "@chorus/core";
import {
  INTENT_STATUSES,
  IntentEventTypes,
  type StateChangedPayload,
  type StatusChangedPayload,
} from "@chorus/protocol";

/*
 * The one place that knows how an intent log event changes an intent. Used both to move the
 * runner's cached intent forward event by event and to rebuild an intent from its log.
 */

/** The version an event brings the intent to, for the two event types that bump it. */
export function versionOf(event: ChorusEvent): number | undefined {
  if (event.type !== IntentEventTypes.StateChanged && event.type !== IntentEventTypes.StatusChanged)
    return undefined;
  const version = (event.payload as { version?: unknown }).version;
  return typeof version === "number" ? version : undefined;
}

/**
 * Why an event of a type that moves an intent cannot be applied (a field missing or of the wrong
 * type), or `undefined` when it can. A real hub never sends such an event; a runner that applied
 * one would hand handlers a state it cannot vouch for, so it is dropped instead.
 */
export function malformed(event: ChorusEvent): string | undefined {
  const payload = event.payload as Record<string, unknown> | null | undefined;
  if (!isObject(payload)) {
    return TRACKED.has(event.type) ? "its payload is not an object" : undefined;
  }
  switch (event.type) {
    case IntentEventTypes.Created: {
      const intent = payload.intent as Record<string, unknown> | undefined;
      if (!isObject(intent)) return "payload.intent is not an object";
      if (intent.id !== event.intentId) return "payload.intent.id is not the event's intent";
      if (!isObject(intent.state)) return "payload.intent.state is not an object";
      if (!isVersion(intent.version)) return "payload.intent.version is not a positive integer";
      if (!Array.isArray(intent.assignees)) return "payload.intent.assignees is not an array";
      return undefined;
    }
    case IntentEventTypes.StateChanged:
      if (!isVersion(payload.version)) return "payload.version is not a positive integer";
      if (!isObject(payload.state)) return "payload.state is not an object";
      return undefined;
    case IntentEventTypes.StatusChanged:
      if (!isVersion(payload.version)) return "payload.version is not a positive integer";
      if (!(INTENT_STATUSES as readonly unknown[]).includes(payload.to))
        return "payload.to is not an intent status";
      return undefined;
    case IntentEventTypes.Assigned:
    case IntentEventTypes.Unassigned:
      return typeof payload.agent === "string" ? undefined : "payload.agent is not a string";
    default:
      return undefined;
  }
}

/** Log event types that move a runner's view of an intent: read whatever the handlers are. */
export const TRACKED: ReadonlySet<string> = new Set([
  IntentEventTypes.Created,
  IntentEventTypes.StateChanged,
  IntentEventTypes.StatusChanged,
  IntentEventTypes.Assigned,
  IntentEventTypes.Unassigned,
]);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isVersion(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 1;
}

/**
 * Whether `event` brings a version that `intent` already has or has passed: a repeat or a late
 * arrival, which must neither move the intent back nor reach a handler a second time.
 */
export function isStale(intent: Intent | undefined, event: ChorusEvent): boolean {
  const version = versionOf(event);
  return intent !== undefined && version !== undefined && version <= intent.version;
}

/**
 * The intent after `event`, from the intent before it (`undefined` when not known yet). A
 * malformed event (see {@link malformed}) and one that is not newer than the intent
 * ({@link isStale}) leave it as it is.
 */
export function foldIntent(intent: Intent | undefined, event: ChorusEvent): Intent | undefined {
  if (malformed(event) !== undefined || isStale(intent, event)) return intent;
  const payload = event.payload;
  switch (event.type) {
    case IntentEventTypes.Created: {
      const created = (payload as { intent?: Intent }).intent;
      return created ? structuredClone(created) : intent;
    }
    case IntentEventTypes.StateChanged: {
      if (!intent) return undefined;
      const { state, version } = payload as unknown as StateChangedPayload;
      return { ...intent, state: structuredClone(state), version, updatedAt: event.occurredAt };
    }
    case IntentEventTypes.StatusChanged: {
      if (!intent) return undefined;
      const { to, version } = payload as unknown as StatusChangedPayload;
      return { ...intent, status: to, version, updatedAt: event.occurredAt };
    }
    case IntentEventTypes.Assigned:
    case IntentEventTypes.Unassigned: {
      if (!intent) return undefined;
      const agent = agentOf(event);
      if (agent === undefined) return intent;
      const others = intent.assignees.filter((a) => a !== agent);
      const assignees = event.type === IntentEventTypes.Assigned ? [...others, agent] : others;
      return { ...intent, assignees, updatedAt: event.occurredAt };
    }
    default:
      return intent;
  }
}

/** Whether `agent` is assigned after `event`, given whether it was before. */
export function foldAssigned(before: boolean, event: ChorusEvent, agent: string): boolean {
  if (malformed(event) !== undefined) return before;
  switch (event.type) {
    case IntentEventTypes.Created:
      return ((event.payload as { intent?: Intent }).intent?.assignees ?? []).includes(agent);
    case IntentEventTypes.Assigned:
      return agentOf(event) === agent ? true : before;
    case IntentEventTypes.Unassigned:
      return agentOf(event) === agent ? false : before;
    default:
      return before;
  }
}

/** The agent named by an `intent.assigned` / `intent.unassigned` payload. */
export function agentOf(event: ChorusEvent): string | undefined {
  const agent = (event.payload as { agent?: unknown }).agent;
  return typeof agent === "string" ? agent : undefined;
}
