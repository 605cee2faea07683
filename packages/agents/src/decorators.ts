import type { IntentStatus } from "@chorus/core";
import {
  type AgentDefinition,
  checkAgentId,
  checkKeys,
  checkStatuses,
  checkTypes,
  createDefinition,
  type HandlerSpec,
  isAgentDefinition,
} from "./definition.js";
import type {
  AgentOptions,
  AssignmentHandler,
  EventHandler,
  HandlerResult,
  MaybePromise,
  StateChangeHandler,
  StatusHandler,
} from "./types.js";

/*
 * How the standard (TC39) decorators record what they decorate, and why not `context.metadata`:
 * TypeScript only creates a metadata object when `Symbol.metadata` exists at class-definition
 * time, which Node 20 does not provide, so relying on it would need a global polyfill installed
 * before the user's classes are evaluated. `addInitializer` works under every compiler (tsc,
 * esbuild/tsup/tsx) without one: each method decorator adds an initializer that, when an instance
 * is constructed, appends the handler to that instance's list. Initializers run in decoration
 * order, which is declaration order, base class first. `@agent` stores the id on the class.
 *
 * Both keys come from the global symbol registry so that an ESM and a CJS copy of this package
 * in one process recognise each other's agents.
 */
const HANDLERS = Symbol.for("@chorus/agents.handlers");
const AGENT = Symbol.for("@chorus/agents.agent");

interface Registered {
  readonly spec: HandlerSpec;
  /** The decorated function, to keep several decorators on one method in source order. */
  readonly method: unknown;
}

interface AgentMeta {
  readonly id: string;
  readonly options: AgentOptions;
}

type Invoke = (...args: unknown[]) => MaybePromise<HandlerResult>;

/**
 * Class decorator: the class is an agent with this id. Its decorated methods are its handlers.
 *
 * @example
 * @agent("researcher", { concurrency: 2 })
 * class Researcher {
 *   @onAssignment()
 *   async start(intent: Intent) {
 *     return { stage: "researching" };
 *   }
 * }
 * const running = await runAgent(new Researcher(), { chorus });
 */
export function agent(id: string, options?: AgentOptions) {
  const meta: AgentMeta = Object.freeze({
    id: checkAgentId(id),
    options: Object.freeze({ ...options }),
  });
  return <C extends abstract new (...args: never) => object>(
    target: C,
    context: ClassDecoratorContext<C>,
  ): void => {
    if (context.kind !== "class") throw new TypeError("@agent decorates a class");
    Object.defineProperty(target, AGENT, {
      value: meta,
      enumerable: false,
      configurable: true,
      writable: false,
    });
  };
}

/**
 * Method decorator: called when this agent is assigned to an intent (and, at start, once for
 * each intent it already holds). Signature: `(intent, ctx)`.
 *
 * @example
 * @onAssignment()
 * async start(intent: Intent, ctx: HandlerContext) {
 *   return { stage: "researching" }; // merge-patched with If-Match
 * }
 */
export function onAssignment() {
  return <
    This extends object,
    V extends (this: This, ...args: Parameters<AssignmentHandler>) => ReturnType<AssignmentHandler>,
  >(
    method: V,
    context: ClassMethodDecoratorContext<This, V>,
  ): void => {
    register(context, method, "onAssignment", (name, invoke) => ({
      kind: "assignment",
      name,
      handler: invoke,
    }));
  };
}

/**
 * Method decorator: called when the state changed; with `keys`, only when one of those
 * top-level keys really changed (rewriting the same value does not count).
 * Signature: `(intent, oldState, newState, ctx)`.
 *
 * @example
 * @onStateChange({ keys: ["question"] })
 * async research(intent: Intent, oldState: IntentState, newState: IntentState) {
 *   return { findings: await search(String(newState.question)) };
 * }
 */
export function onStateChange(options: { keys?: readonly string[] } = {}) {
  const keys = checkKeys(options.keys);
  return <
    This extends object,
    V extends (
      this: This,
      ...args: Parameters<StateChangeHandler>
    ) => ReturnType<StateChangeHandler>,
  >(
    method: V,
    context: ClassMethodDecoratorContext<This, V>,
  ): void => {
    register(context, method, "onStateChange", (name, invoke) => ({
      kind: "stateChange",
      name,
      keys,
      handler: invoke,
    }));
  };
}

/**
 * Method decorator: called when the status changed to one of `status`.
 * Signature: `(intent, { from, to, reason }, ctx)`.
 *
 * @example
 * @onStatus(["completed", "cancelled"])
 * async done(intent: Intent) { await cleanUp(intent.id); }
 */
export function onStatus(status: IntentStatus | readonly IntentStatus[]) {
  const statuses = checkStatuses(status);
  return <
    This extends object,
    V extends (this: This, ...args: Parameters<StatusHandler>) => ReturnType<StatusHandler>,
  >(
    method: V,
    context: ClassMethodDecoratorContext<This, V>,
  ): void => {
    register(context, method, "onStatus", (name, invoke) => ({
      kind: "status",
      name,
      statuses,
      handler: invoke,
    }));
  };
}

/**
 * Method decorator: called for log events of these types (`intent.comment`, a custom
 * `intent.*` type, `intent.state_changed`, ...). Signature: `(intent, event, ctx)`.
 *
 * @example
 * @onEvent("intent.comment")
 * async reply(intent: Intent, event: ChorusEvent, ctx: HandlerContext) {
 *   await ctx.comment(intent, "noted");
 * }
 */
export function onEvent(type: string | readonly string[]) {
  const types = checkTypes(type);
  return <
    This extends object,
    V extends (this: This, ...args: Parameters<EventHandler>) => ReturnType<EventHandler>,
  >(
    method: V,
    context: ClassMethodDecoratorContext<This, V>,
  ): void => {
    register(context, method, "onEvent", (name, invoke) => ({
      kind: "event",
      name,
      types,
      handler: invoke,
    }));
  };
}

function register<This extends object>(
  context: ClassMethodDecoratorContext<This>,
  method: unknown,
  decorator: string,
  build: (name: string, invoke: Invoke) => HandlerSpec,
): void {
  if (context.kind !== "method") throw new TypeError(`@${decorator} decorates a method`);
  if (context.static)
    throw new TypeError(`@${decorator} cannot decorate static method ${String(context.name)}`);
  const name =
    typeof context.name === "symbol" ? (context.name.description ?? "symbol") : context.name;
  const access = context.access;
  context.addInitializer(function (this: This) {
    // Looked up at call time, so a subclass override or a spy installed later is what runs.
    const invoke: Invoke = (...args) =>
      (access.get(this) as (...a: unknown[]) => MaybePromise<HandlerResult>).apply(this, args);
    addHandler(this, { spec: build(name, invoke), method });
  });
}

function addHandler(instance: object, entry: Registered): void {
  if (!Object.hasOwn(instance, HANDLERS)) {
    Object.defineProperty(instance, HANDLERS, { value: [], enumerable: false, configurable: true });
  }
  const list = (instance as Record<symbol, Registered[]>)[HANDLERS] as Registered[];
  // Several decorators on one method are applied bottom-up; inserting before the entries of the
  // same method keeps them in the order they are written.
  let at = list.length;
  while (at > 0 && list[at - 1]?.method === entry.method) at--;
  list.splice(at, 0, entry);
}

/**
 * The {@link AgentDefinition} of an instance of an `@agent` class (handlers bound to it), or the
 * definition itself. Throws a `TypeError` for anything else.
 */
export function definitionOf(target: object): AgentDefinition {
  if (isAgentDefinition(target)) return target;
  const ctor = (target as { constructor?: unknown }).constructor;
  const meta =
    typeof ctor === "function"
      ? ((ctor as unknown as Record<symbol, AgentMeta | undefined>)[AGENT] ?? undefined)
      : undefined;
  if (!meta) {
    const what =
      typeof ctor === "function" && ctor.name ? `an instance of ${ctor.name}` : "this object";
    throw new TypeError(
      `${what} is not an agent: decorate its class with @agent(id) or pass defineAgent({ ... })`,
    );
  }
  const registered = Object.hasOwn(target, HANDLERS)
    ? ((target as Record<symbol, Registered[]>)[HANDLERS] ?? [])
    : [];
  return createDefinition(
    meta.id,
    meta.options,
    registered.map((r) => r.spec),
  );
}
