/** Canonical event-type names. Any other dotted name is allowed too. */
export const EventTypes = {
  AgentStart: "agent.start",
  AgentEnd: "agent.end",
  AgentError: "agent.error",
  AgentMessage: "agent.message",
  AgentHandoff: "agent.handoff",
  LlmStart: "llm.start",
  LlmEnd: "llm.end",
  LlmError: "llm.error",
  /** Per-token events; adapters emit them only when the user opts in. */
  LlmToken: "llm.token",
  ToolStart: "tool.start",
  ToolEnd: "tool.end",
  ToolError: "tool.error",
  Custom: "custom",
} as const;

export type CanonicalEventType = (typeof EventTypes)[keyof typeof EventTypes];

/** Event types the hub writes to an intent's log. Clients may post `intent.comment` and custom `intent.*`. */
export const IntentEventTypes = {
  Created: "intent.created",
  StateChanged: "intent.state_changed",
  StatusChanged: "intent.status_changed",
  Assigned: "intent.assigned",
  Unassigned: "intent.unassigned",
  Comment: "intent.comment",
} as const;

export type IntentEventType = (typeof IntentEventTypes)[keyof typeof IntentEventTypes];

/** Types only the hub may write: a client posting one of these to an intent log is refused. */
export const RESERVED_INTENT_EVENT_TYPES: ReadonlySet<string> = new Set([
  IntentEventTypes.Created,
  IntentEventTypes.StateChanged,
  IntentEventTypes.StatusChanged,
  IntentEventTypes.Assigned,
  IntentEventTypes.Unassigned,
]);

/** Channel on which intent log events are stored and published. */
export const INTENT_CHANNEL = "intents";
