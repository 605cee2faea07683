import { INTENT_STATUSES, type IntentStatus, nameSchema, typeSchema } from "@chorus/protocol";
import type {
  AgentOptions,
  AssignmentHandler,
  EventHandler,
  StateChangeHandler,
  StatusHandler,
} from "./types.js";

/** One handler and what it listens to. A definition keeps them in declaration order. */
export type HandlerSpec =
  | { readonly kind: "assignment"; readonly name: string; readonly handler: AssignmentHandler }
  | {
      readonly kind: "stateChange";
      readonly name: string;
      /** Top-level state keys; `undefined` means every change. */
      readonly keys: readonly string[] | undefined;
      readonly handler: StateChangeHandler;
    }
  | {
      readonly kind: "status";
      readonly name: string;
      readonly statuses: readonly IntentStatus[];
      readonly handler: StatusHandler;
    }
  | {
      readonly kind: "event";
      readonly name: string;
      readonly types: readonly string[];
      readonly handler: EventHandler;
    };

/** Registry-wide key, so two copies of this package (ESM and CJS) recognise each other's definitions. */
const DEFINITION_BRAND: unique symbol = Symbol.for("@chorus/agents.definition");

/**
 * What the runner consumes: the agent id, its options and its handlers in declaration order.
 * The decorators and `defineAgent` both compile to this; build one with {@link defineAgent}.
 */
export interface AgentDefinition {
  readonly [DEFINITION_BRAND]: true;
  readonly id: string;
  readonly options: Readonly<AgentOptions>;
  readonly handlers: readonly HandlerSpec[];
}

export function createDefinition(
  id: string,
  options: AgentOptions | undefined,
  handlers: readonly HandlerSpec[],
): AgentDefinition {
  return Object.freeze({
    [DEFINITION_BRAND]: true as const,
    id: checkAgentId(id),
    options: Object.freeze({ ...options }),
    handlers: Object.freeze([...handlers]),
  });
}

export function isAgentDefinition(value: unknown): value is AgentDefinition {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<symbol, unknown>)[DEFINITION_BRAND] === true
  );
}

/** Thrown at definition time, so a typo fails where it was written rather than at the first event. */
export function checkAgentId(id: unknown): string {
  const parsed = nameSchema.safeParse(id);
  if (!parsed.success)
    throw new TypeError(`agent id must be a valid name (got ${JSON.stringify(id)})`);
  return parsed.data;
}

export function checkKeys(keys: unknown): readonly string[] | undefined {
  if (keys === undefined) return undefined;
  if (
    !Array.isArray(keys) ||
    keys.length === 0 ||
    !keys.every((k) => typeof k === "string" && k !== "")
  ) {
    throw new TypeError("onStateChange keys must be a non-empty array of top-level state keys");
  }
  return Object.freeze([...keys]);
}

export function checkStatuses(status: unknown): readonly IntentStatus[] {
  const list = Array.isArray(status) ? status : [status];
  for (const s of list) {
    if (!(INTENT_STATUSES as readonly unknown[]).includes(s)) {
      throw new TypeError(
        `onStatus expects ${INTENT_STATUSES.join(" | ")} (got ${JSON.stringify(s)})`,
      );
    }
  }
  if (list.length === 0) throw new TypeError("onStatus needs at least one status");
  return Object.freeze([...list] as IntentStatus[]);
}

export function checkTypes(type: unknown): readonly string[] {
  const list = Array.isArray(type) ? type : [type];
  for (const t of list) {
    if (!typeSchema.safeParse(t).success)
      throw new TypeError(`onEvent expects event type names (got ${JSON.stringify(t)})`);
  }
  if (list.length === 0) throw new TypeError("onEvent needs at least one event type");
  return Object.freeze([...list] as string[]);
}
