import type { ChorusEvent, Intent } from "@chorus/core";
import { withTrace } from "@chorus/core";
import { IntentEventTypes, jsonEqual, type StatusChangedPayload } from "@chorus/protocol";
import type { HandlerSpec } from "./definition.js";
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
