import type { Chorus, ChorusEvent, Intent } from "@chorus/core";
import { BoundedMap } from "@chorus/core/adapter-kit";
import { IntentEventTypes } from "@chorus/protocol";
import { whileUnavailable } from "./hub-calls.js";
import { agentOf, foldAssigned, foldIntent, isStale, malformed, versionOf } from "./intent-fold.js";
import { intentBefore } from "./intent-log.js";

/**
 * Intents whose current form the runner keeps. Past this the least recently used is dropped;
 * if it is needed again it is rebuilt from its log, so the bound costs a read, never a wrong
 * old state.
 */
export const MAX_TRACKED_INTENTS = 10_000;

interface Entry {
  intent: Intent;
  /** Seq of the last event applied; `undefined` for a catch-up snapshot (exact version, unknown position). */
  seq: number | undefined;
  assigned: boolean;
}

/** An event applied to the runner's view of its intent. */
export interface AppliedEvent {
  /** The intent just before the event; `undefined` when the event is its creation. */
  before: Intent | undefined;
  /** The intent just after the event: what handlers are handed. */
  after: Intent;
  assignedBefore: boolean;
  assignedAfter: boolean;
  /** False when the log no longer reached back far enough (retention) to know `before` exactly. */
  exact: boolean;
}

/** An event the runner will not apply nor hand to handlers, and why (for the log). */
export interface DroppedEvent {
  dropped: "malformed" | "stale";
  reason: string;
}

export interface StateTrackerDeps {
  chorus: Chorus;
  agent: string;
  /** Aborts the retries of a log read when the runner stops. */
  signal: AbortSignal;
  onRetry?: (error: unknown) => void;
}

/**
 * The runner's cache of its intents, moved forward by the events of the agent stream. The cache
 * is trusted only when the event provably continues it (its version is the cached version + 1,
 * or, for events that carry no version, the cache's position in the log is known); otherwise the
 * intent is rebuilt from its log up to the event. Old states handed to handlers are therefore
 * exact after a start, a resume, a reconnect or a re-assignment alike.
 */
export class StateTracker {
  readonly #deps: StateTrackerDeps;
  readonly #entries = new BoundedMap<string, Entry>(MAX_TRACKED_INTENTS, { refreshOnGet: true });

  constructor(deps: StateTrackerDeps) {
    this.#deps = deps;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Whether the runner already holds `intent` as assigned, at the same version: nothing of it was missed. */
  holds(intent: Intent): boolean {
    const entry = this.#entries.get(intent.id);
    return entry?.assigned === true && entry.intent.version === intent.version;
  }

  /** A snapshot read at start (catch-up): exact at its version, but its place in the log is unknown. */
  seed(intent: Intent): void {
    if (this.#entries.has(intent.id)) return;
    this.#entries.set(intent.id, {
      intent: structuredClone(intent),
      seq: undefined,
      assigned: true,
    });
  }

  /**
   * Move the intent of `event` forward. An event that cannot be applied is dropped, not thrown:
   * a malformed one (fields missing or of the wrong type), and a stale one (a version the intent
   * already has or has passed: a repeat, or a late arrival out of order). Neither moves the
   * intent, so the next sound event still gets the true old state.
   */
  async apply(event: ChorusEvent): Promise<AppliedEvent | DroppedEvent> {
    const id = event.intentId as string;
    const { agent, chorus, signal, onRetry } = this.#deps;
    const problem = malformed(event);
    if (problem !== undefined) return { dropped: "malformed", reason: problem };
    let entry = this.#entries.get(id);
    let exact = true;
    if (event.type === IntentEventTypes.Created) {
      entry = undefined; // nothing comes before a creation
    } else if (!continues(entry, event)) {
      const rebuilt = await whileUnavailable(
        () => intentBefore(chorus, id, event.seq, agent),
        signal,
        onRetry,
      );
      exact = rebuilt.exact;
      entry = rebuilt.intent
        ? { intent: rebuilt.intent, seq: event.seq, assigned: rebuilt.assigned }
        : undefined;
    }
    const before = entry?.intent;
    if (isStale(before, event)) {
      if (entry) this.#entries.set(id, entry);
      return {
        dropped: "stale",
        reason: `version ${versionOf(event)} is not newer than ${before?.version}`,
      };
    }
    const assignedBefore = entry?.assigned ?? false;
    const after = foldIntent(before, event);
    if (after === undefined) {
      // Only a log without its creation and an unreadable intent get here; nothing sensible to hand over.
      throw new Error(`intent ${id} could not be read before seq ${event.seq}`);
    }
    const assignedAfter = foldAssigned(assignedBefore, event, agent);
    if (event.type === IntentEventTypes.Unassigned && agentOf(event) === agent) {
      // No more events of it will come until a re-assignment, which a version gap will notice.
      this.#entries.delete(id);
    } else {
      this.#entries.set(id, { intent: after, seq: event.seq, assigned: assignedAfter });
    }
    return { before, after, assignedBefore, assignedAfter, exact };
  }
}

/** Whether `event` provably comes right after what `entry` holds. */
function continues(entry: Entry | undefined, event: ChorusEvent): boolean {
  if (!entry) return false;
  const version = versionOf(event);
  if (version !== undefined) return entry.intent.version === version - 1;
  return entry.seq !== undefined && entry.seq < event.seq;
}
