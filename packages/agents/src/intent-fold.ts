import type { ChorusEvent, Intent } from "@chorus/core";
import {
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

/** The intent after `event`, from the intent before it (`undefined` when not known yet). */
export function foldIntent(intent: Intent | undefined, event: ChorusEvent): Intent | undefined {
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
