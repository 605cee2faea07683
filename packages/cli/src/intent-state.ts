import type { ChorusEvent, IntentStatus } from "@chorus/core";

export interface StateChange {
  before: Record<string, unknown>;
  after: Record<string, unknown>;
  keys: string[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Follows an intent's state and status through its log, so a state change can be shown as
 * old → new. `intent.state_changed` carries the full new state, so the old one is simply the
 * previous event's; `intent.created` carries the first.
 */
export class IntentStateTracker {
  #state: Record<string, unknown>;
  #status: IntentStatus | undefined;

  constructor(initial: { state?: Record<string, unknown>; status?: IntentStatus } = {}) {
    this.#state = initial.state ?? {};
    this.#status = initial.status;
  }

  get status(): IntentStatus | undefined {
    return this.#status;
  }

  get state(): Record<string, unknown> {
    return this.#state;
  }

  /** Take one log event into account; for a state change, answer what changed. */
  apply(event: Pick<ChorusEvent, "type" | "payload">): StateChange | undefined {
    const p = event.payload ?? {};
    if (event.type === "intent.created" && isObject(p.intent)) {
      if (isObject(p.intent.state)) this.#state = p.intent.state;
      if (typeof p.intent.status === "string") this.#status = p.intent.status as IntentStatus;
      return undefined;
    }
    if (event.type === "intent.status_changed" && typeof p.to === "string") {
      this.#status = p.to as IntentStatus;
      return undefined;
    }
    if (event.type !== "intent.state_changed" || !isObject(p.state)) return undefined;
    const before = this.#state;
    this.#state = p.state;
    const keys = Array.isArray(p.changedKeys)
      ? p.changedKeys.filter((k): k is string => typeof k === "string")
      : [];
    return { before, after: p.state, keys };
  }
}

/** Statuses after which nothing about the intent can change any more. */
export function isFinal(status: IntentStatus | undefined): boolean {
  return status === "completed" || status === "cancelled";
}
