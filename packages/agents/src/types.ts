import type { Chorus, ChorusEvent, Intent, IntentStatus } from "@chorus/core";

/** An intent's state: any JSON object. */
export type IntentState = Record<string, unknown>;

/** A JSON Merge Patch (RFC 7396) of an intent's state: `null` deletes a key. */
export type StatePatch = Record<string, unknown>;

/**
 * Computes a patch from the intent's current state. Where a plain patch is re-applied as is
 * after a 409, an updater is called again with the fresh state, so read-modify-write updates
 * (counters, appends) from agents racing on one key are never lost. Return `undefined` to write
 * nothing.
 *
 * @example
 * return (state) => ({ count: Number(state.count ?? 0) + 1 });
 */
export type StateUpdater = (state: IntentState) => StatePatch | null | undefined;

/**
 * What a handler may return: a patch to merge into the intent's state, an updater computing
 * one, or nothing. Either is written with `If-Match: <the version the handler saw>`.
 */
// biome-ignore lint/suspicious/noConfusingVoidType: `void` lets `async handler() {}` (Promise<void>) type-check as a handler.
export type HandlerResult = StatePatch | StateUpdater | null | undefined | void;

export type MaybePromise<T> = T | Promise<T>;

/** An intent as the helpers need it: its id, and the version and state the caller saw. */
export interface IntentRef {
  readonly id: string;
  /** The version the caller saw; read from the hub when absent. */
  readonly version?: number;
  readonly state?: IntentState;
}

/** `from` and `to` of an `intent.status_changed` event. */
export interface StatusChange {
  readonly from: IntentStatus;
  readonly to: IntentStatus;
  readonly reason?: string;
}

export interface CompleteOptions {
  /** Written (with the same If-Match and re-apply logic as `patch`) before the status changes. */
  state?: StatePatch | StateUpdater;
  reason?: string;
}

/**
 * Passed as the last argument of every handler. The helpers use the runner's client and agent
 * id, and write with `If-Match`, re-reading and re-applying on 409 like a returned patch.
 *
 * @example
 * @onStatus("blocked")
 * async unblock(intent: Intent, change: StatusChange, ctx: HandlerContext) {
 *   await ctx.comment(intent, `blocked: ${change.reason ?? "no reason given"}`);
 * }
 */
export interface HandlerContext {
  /** The client the runner was started with (emit, intents, streams, ...). */
  readonly chorus: Chorus;
  /** This agent's id. */
  readonly agent: string;
  readonly intentId: string;
  /** The log event being handled; `undefined` for the catch-up `onAssignment` at start. */
  readonly event: ChorusEvent | undefined;
  /** Aborted when `stop()` is called: pass it to long calls so a stopping runner is not held up. */
  readonly signal: AbortSignal;
  /** Merge-patch the state with If-Match; an updater is recomputed from the fresh state on 409. */
  patch(intent: IntentRef, change: StatePatch | StateUpdater): Promise<Intent>;
  /** Set the status to `completed` (optionally writing state first); already completed is fine. */
  complete(intent: IntentRef, options?: CompleteOptions): Promise<Intent>;
  /** Post an `intent.comment` as this agent. */
  comment(
    intent: IntentRef,
    text: string,
    options?: { payload?: Record<string, unknown> },
  ): Promise<void>;
}

/** `@onAssignment()`: this agent was assigned to the intent. */
export type AssignmentHandler = (
  intent: Intent,
  ctx: HandlerContext,
) => MaybePromise<HandlerResult>;

/** `@onStateChange()`: the state changed; `oldState` and `newState` are the true states around the change. */
export type StateChangeHandler = (
  intent: Intent,
  oldState: IntentState,
  newState: IntentState,
  ctx: HandlerContext,
) => MaybePromise<HandlerResult>;

/** `@onStatus()`: the status changed to one of the listed statuses. */
export type StatusHandler = (
  intent: Intent,
  change: StatusChange,
  ctx: HandlerContext,
) => MaybePromise<HandlerResult>;

/** `@onEvent()`: an event of a listed type was appended to the intent's log. */
export type EventHandler = (
  intent: Intent,
  event: ChorusEvent,
  ctx: HandlerContext,
) => MaybePromise<HandlerResult>;

/** Agent-level defaults, overridden by `runAgent` options. */
export interface AgentOptions {
  /** Intents handled at once (events of one intent are always handled one at a time). */
  concurrency?: number;
  /** Writes of a returned patch tried before giving up on repeated 409s. */
  maxPatchAttempts?: number;
  description?: string;
}
