import type { Chorus, ChorusEvent, Intent, Logger } from "@chorus/core";
import { withTrace } from "@chorus/core";
import { IntentEventTypes, jsonEqual, type StatusChangedPayload } from "@chorus/protocol";
import type { HandlerSpec } from "./definition.js";
import { createHandlerContext } from "./helpers.js";
import { whileUnavailable } from "./hub-calls.js";
import { patchIntent, writeKeys } from "./patch.js";
import { messageOf } from "./report.js";
import type {
  HandlerContext,
  HandlerResult,
  IntentState,
  StatePatch,
  StateUpdater,
  StatusChange,
} from "./types.js";

/** What happened to one intent, as the runner understood it. */
export interface Occurrence {
  /** The intent after the event: what handlers are handed. */
  intent: Intent;
  /** The intent before it (for the true old state); `undefined` at creation or at catch-up. */
  before: Intent | undefined;
  /** `undefined` for the catch-up assignment at start. */
  event: ChorusEvent | undefined;
  /** Whether this is an assignment of this agent that `onAssignment` handlers should see. */
  assignment: boolean;
}

/** One handler to call, with its arguments (the context is added last when it runs). */
export interface Invocation {
  spec: HandlerSpec;
  args: unknown[];
}

/**
 * The handlers an occurrence triggers, in declaration order. Every invocation gets its own
 * copies of the intent, states and event, so a handler mutating them affects neither the next
 * handler nor the runner's cache.
 */
export function selectHandlers(
  handlers: readonly HandlerSpec[],
  occurrence: Occurrence,
): Invocation[] {
  const { intent, before, event, assignment } = occurrence;
  const out: Invocation[] = [];
  for (const spec of handlers) {
    switch (spec.kind) {
      case "assignment":
        if (assignment) out.push({ spec, args: [structuredClone(intent)] });
        break;
      case "stateChange":
        if (
          event?.type === IntentEventTypes.StateChanged &&
          before &&
          stateChanged(spec.keys, before.state, intent.state, event)
        ) {
          out.push({
            spec,
            args: [
              structuredClone(intent),
              structuredClone(before.state),
              structuredClone(intent.state),
            ],
          });
        }
        break;
      case "status": {
        if (event?.type !== IntentEventTypes.StatusChanged) break;
        const { from, to, reason } = event.payload as unknown as StatusChangedPayload;
        if (!spec.statuses.includes(to)) break;
        const change: StatusChange = reason === undefined ? { from, to } : { from, to, reason };
        out.push({ spec, args: [structuredClone(intent), change] });
        break;
      }
      case "event":
        if (event && spec.types.includes(event.type))
          out.push({ spec, args: [structuredClone(intent), structuredClone(event)] });
        break;
    }
  }
  return out;
}

/**
 * Whether a watched key (any key, without `keys`) really changed. The hub's `changedKeys` says
 * which top-level keys it saw change; the values are compared too, so that a patch rewriting a
 * value already there never fires, whatever the payload says.
 */
export function stateChanged(
  keys: readonly string[] | undefined,
  oldState: IntentState,
  newState: IntentState,
  event: ChorusEvent,
): boolean {
  const reported = (event.payload as { changedKeys?: unknown }).changedKeys;
  const changedKeys = Array.isArray(reported) ? (reported as unknown[]) : undefined;
  const candidates = keys ??
    changedKeys ?? [...new Set([...Object.keys(oldState), ...Object.keys(newState)])];
  return candidates.some(
    (key) =>
      typeof key === "string" &&
      (changedKeys === undefined || changedKeys.includes(key)) &&
      !jsonEqual(oldState[key], newState[key]),
  );
}

/**
 * Call one handler inside its own trace span carrying the intent id and agent, so every event
 * emitted inside it (by adapters too) joins the intent. Returns what the handler returned.
 */
export function callHandler(invocation: Invocation, ctx: HandlerContext): Promise<HandlerResult> {
  return withTrace(
    async () =>
      (invocation.spec.handler as (...args: unknown[]) => HandlerResult | Promise<HandlerResult>)(
        ...invocation.args,
        ctx,
      ),
    { newTrace: true, intentId: ctx.intentId, agent: ctx.agent },
  );
}

/** A returned plain object or function is a state change to write; anything else is ignored. */
export function asStateChange(result: unknown): StatePatch | StateUpdater | undefined {
  if (typeof result === "function") return result as StateUpdater;
  if (typeof result === "object" && result !== null && !Array.isArray(result))
    return result as StatePatch;
  return undefined;
}

export interface RunHandlersDeps {
  chorus: Chorus;
  agent: string;
  signal: AbortSignal;
  /** True once `stop()` gave up waiting: a handler finishing after that has its result dropped. */
  abandoned?: () => boolean;
  maxPatchAttempts: number;
  logger: Logger;
  /** A handler threw (`handler`) or what it returned could not be written (`patch`). */
  failed: (error: unknown, handler: string, phase: "handler" | "patch") => void;
}

/**
 * Run the handlers an occurrence triggers, one after another in declaration order, each
 * isolated from the others' failures, writing what each returns before the next starts.
 */
export async function runHandlers(
  handlers: readonly HandlerSpec[],
  occurrence: Occurrence,
  deps: RunHandlersDeps,
): Promise<void> {
  const { intent, event } = occurrence;
  for (const invocation of selectHandlers(handlers, occurrence)) {
    if (deps.abandoned?.()) return;
    const handler = invocation.spec.name;
    const ctx = createHandlerContext({
      chorus: deps.chorus,
      agent: deps.agent,
      intentId: intent.id,
      event,
      signal: deps.signal,
      maxPatchAttempts: deps.maxPatchAttempts,
    });
    let result: unknown;
    try {
      result = await callHandler(invocation, ctx);
    } catch (error) {
      deps.failed(error, handler, "handler");
      continue;
    }
    if (deps.abandoned?.()) {
      deps.logger.warn(
        `handler ${handler} finished after stop() gave up on it; its result is not written`,
        {
          agent: deps.agent,
          intentId: intent.id,
        },
      );
      return;
    }
    const change = asStateChange(result);
    if (change === undefined) {
      if (result !== undefined && result !== null) {
        deps.logger.warn(
          `handler ${handler} returned a ${typeof result}; only an object or an updater is written`,
          {
            agent: deps.agent,
            intentId: intent.id,
          },
        );
      }
      continue;
    }
    try {
      // If-Match is the version this handler saw, not whatever the intent is at by now. An
      // outage is waited out (until `stop()`), like every read of the runner: each resend names
      // the same write (one key per version it is written on), so one that had landed is
      // answered as a replay, neither applied twice nor re-run as an updater after a 409.
      const writeKey = writeKeys();
      await whileUnavailable(
        () =>
          patchIntent(deps.chorus, intent, change, {
            maxAttempts: deps.maxPatchAttempts,
            actor: deps.agent,
            writeKey,
          }),
        deps.signal,
        (error) =>
          deps.logger.warn(
            `hub unavailable while writing what handler ${handler} returned; retrying`,
            {
              agent: deps.agent,
              intentId: intent.id,
              error: messageOf(error),
            },
          ),
      );
    } catch (error) {
      deps.failed(error, handler, "patch");
    }
  }
}
