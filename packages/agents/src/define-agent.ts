import type { IntentStatus } from "@chorus/core";
import {
  type AgentDefinition,
  checkKeys,
  checkStatuses,
  checkTypes,
  createDefinition,
  type HandlerSpec,
} from "./definition.js";
import type {
  AgentOptions,
  AssignmentHandler,
  EventHandler,
  StateChangeHandler,
  StatusHandler,
} from "./types.js";

type OneOrMany<T> = T | readonly T[];

export interface StateChangeEntry {
  /** Top-level state keys; without them, every change. */
  keys?: readonly string[];
  handler: StateChangeHandler;
}

export interface StatusEntry {
  status: IntentStatus | readonly IntentStatus[];
  handler: StatusHandler;
}

export interface EventEntry {
  type: string | readonly string[];
  handler: EventHandler;
}

/**
 * Handlers by kind. Declaration order, which is also the order handlers of one event run in, is
 * the order of these properties as written, then array order within each.
 */
export interface AgentHandlers {
  onAssignment?: OneOrMany<AssignmentHandler>;
  onStateChange?: OneOrMany<StateChangeHandler | StateChangeEntry>;
  onStatus?: OneOrMany<StatusEntry>;
  onEvent?: OneOrMany<EventEntry>;
}

export interface DefineAgentInput {
  id: string;
  options?: AgentOptions;
  handlers: AgentHandlers;
}

/**
 * The decorator-free form, for plain JavaScript. Produces the same definition the decorators
 * do, run by the same `runAgent`.
 *
 * @example
 * const writer = defineAgent({
 *   id: "writer",
 *   handlers: {
 *     onStateChange: [{ keys: ["findings"], handler: async (intent, oldState, newState) => ({ draft: "…" }) }],
 *     onStatus: { status: "cancelled", handler: async (intent) => {} },
 *     onEvent: { type: "intent.comment", handler: async (intent, event, ctx) => ctx.comment(intent, "ok") },
 *   },
 * });
 * const running = await runAgent(writer, { chorus });
 */
export function defineAgent(input: DefineAgentInput): AgentDefinition {
  if (typeof input !== "object" || input === null)
    throw new TypeError("defineAgent expects { id, handlers }");
  const specs: HandlerSpec[] = [];
  for (const [kind, value] of Object.entries(input.handlers ?? {})) {
    if (value === undefined) continue;
    const list: readonly unknown[] = Array.isArray(value) ? value : [value];
    list.forEach((entry, index) => {
      specs.push(toSpec(kind, entry, list.length === 1 ? kind : `${kind}[${index}]`));
    });
  }
  return createDefinition(input.id, input.options, specs);
}

function toSpec(kind: string, entry: unknown, fallbackName: string): HandlerSpec {
  // An arrow written as `{ handler: () => ... }` is named "handler", which tells nobody anything.
  const named = (fn: { name: string }) =>
    fn.name && fn.name !== "handler" ? fn.name : fallbackName;
  switch (kind) {
    case "onAssignment":
      return {
        kind: "assignment",
        name: named(fnOf(entry, kind)),
        handler: fnOf(entry, kind) as AssignmentHandler,
      };
    case "onStateChange": {
      if (typeof entry === "function") {
        return {
          kind: "stateChange",
          name: named(entry),
          keys: undefined,
          handler: entry as StateChangeHandler,
        };
      }
      const e = entry as StateChangeEntry;
      const handler = fnOf(e?.handler, kind) as StateChangeHandler;
      return { kind: "stateChange", name: named(handler), keys: checkKeys(e.keys), handler };
    }
    case "onStatus": {
      const e = entry as StatusEntry;
      const handler = fnOf(e?.handler, kind) as StatusHandler;
      return { kind: "status", name: named(handler), statuses: checkStatuses(e.status), handler };
    }
    case "onEvent": {
      const e = entry as EventEntry;
      const handler = fnOf(e?.handler, kind) as EventHandler;
      return { kind: "event", name: named(handler), types: checkTypes(e.type), handler };
    }
    default:
      throw new TypeError(
        `unknown handler kind "${kind}" (expected onAssignment, onStateChange, onStatus, onEvent)`,
      );
  }
}

function fnOf(value: unknown, kind: string): (...args: never[]) => unknown {
  if (typeof value !== "function") throw new TypeError(`${kind} handler must be a function`);
  return value as (...args: never[]) => unknown;
}
