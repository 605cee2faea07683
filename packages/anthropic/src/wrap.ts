import type Anthropic from "@anthropic-ai/sdk";
import { TraceIdPool } from "@chorus/core";
import { tapApiPromise } from "./api-promise-tap.js";
import { type CallContext, LlmCall } from "./llm-call.js";
import { resolveWrapOptions, type WrapAnthropicOptions } from "./options.js";
import { MAX_PENDING_TOOLS, type PendingTool } from "./pending-tools.js";
import { BoundedMap, createSafely, type Safely, SpanRecorder } from "@chorus/core/adapter-kit";

/** Any client with the SDK's `messages` resource: `Anthropic`, and subclasses of it. */
export type AnthropicLike = Pick<Anthropic, "messages">;

type Create = (this: unknown, ...args: unknown[]) => unknown;

/** What a wrapped `messages` resource carries: how to undo the wrap, and the live instrumentation. */
interface WrapState {
  readonly original: Create;
  readonly wrapped: Create;
  /** The own `create` property the resource had before (usually none: it lives on the prototype). */
  readonly previous: PropertyDescriptor | undefined;
  /** Undefined while unwrapped but still chained under someone else's wrapper: calls pass through. */
  live: Live | undefined;
}

interface Live {
  ctx: CallContext;
  safely: Safely;
  close: () => void;
}

/*
 * The mark lives on the patched object itself, under a registry symbol, never in a module
 * variable: two copies of this package (ESM and CJS, or two versions) see the same mark, so
 * wrapping twice never doubles events and either copy can unwrap.
 */
const STATE = Symbol.for("@chorus/anthropic.wrap-state");

type Messages = Record<PropertyKey, unknown> & { [STATE]?: WrapState };

/**
 * Instrument an Anthropic client: every `messages.create` (plain and `stream: true`) and every
 * `messages.stream`, and the same of `beta.messages` (so the SDK's tool runner too), emits
 * `llm.start`, `llm.end` (usage, finish reason, latency, time to first
 * token) or `llm.error`, `agent.message` with the model's text, and `tool.start` for each
 * `tool_use` block; `tool.end` or `tool.error` follow when a later request carries the
 * `tool_result`. The client is returned as it is, patched in place: every call returns exactly
 * what the SDK returns (the same `APIPromise`, `Stream`, `MessageStream` and error instances).
 * Nothing the adapter does can throw into the SDK, and it never waits on the network.
 *
 * Wrapping a wrapped client again changes nothing. {@link unwrapAnthropic} undoes it.
 *
 * @example
 * import Anthropic from "@anthropic-ai/sdk";
 * import { Chorus } from "@chorus/core";
 * import { wrapAnthropic } from "@chorus/anthropic";
 *
 * const chorus = new Chorus({ url: "http://127.0.0.1:7420", apiKey: process.env.CHORUS_API_KEY });
 * const client = wrapAnthropic(new Anthropic(), { chorus, channel: "support", agent: "triage" });
 * const message = await client.messages.create({
 *   model: "claude-sonnet-4-5",
 *   max_tokens: 256,
 *   messages: [{ role: "user", content: "Hello" }],
 * });
 * await chorus.flush();
 */
export function wrapAnthropic<T extends AnthropicLike>(
  client: T,
  options: WrapAnthropicOptions = {},
): T {
  try {
    // One instrumentation for all resources: a tool call asked for through one is answered
    // through either.
    const resources = resourcesOf(client);
    // Still in place on a resource: a second wrap must not add a second set of events.
    let live = resources.map(([, resource]) => resource[STATE]?.live).find((l) => l !== undefined);
    for (const [name, resource] of resources) {
      const state = resource[STATE];
      live ??= createLive(options);
      if (state === undefined) install(resource, name, live);
      else state.live ??= live;
    }
  } catch (error) {
    // A client we cannot patch is returned unpatched; instrumentation is never worth a crash.
    reportBoot(options, error);
  }
  return client;
}

/**
 * Undo {@link wrapAnthropic}: `messages.create` is the SDK's own again. If something else has
 * wrapped `create` on top of ours since, ours is left in its chain but passes calls straight
 * through, so the other wrapper keeps working. A Chorus client the wrapper created is closed
 * (drained in the background).
 */
export function unwrapAnthropic<T extends AnthropicLike>(client: T): T {
  const closed = new Set<Live>();
  for (const [, resource] of resourcesOf(client)) {
    try {
      const state = resource[STATE];
      if (state === undefined) continue;
      if (state.live && !closed.has(state.live)) {
        closed.add(state.live);
        state.live.close();
      }
      state.live = undefined;
      if (resource.create !== state.wrapped) continue;
      if (state.previous) Object.defineProperty(resource, "create", state.previous);
      else delete resource.create;
      delete resource[STATE];
    } catch {
      // nothing to report to: the options belonged to the wrap being undone
    }
  }
  return client;
}

/** Whether `client.messages` (and `client.beta.messages`) is instrumented (and not unwrapped). */
export function isWrapped(client: AnthropicLike): boolean {
  try {
    return messagesOf(client)?.[STATE]?.live !== undefined;
  } catch {
    return false;
  }
}

function messagesOf(client: unknown): Messages | undefined {
  return resourceOf(client, "messages");
}

/**
 * The resources whose `create` is instrumented, by the name their calls are reported under:
 * `messages`, and `beta.messages` (beta features, `beta.messages.stream()`, and the SDK's tool
 * runner and message threads, which call it).
 */
function resourcesOf(client: unknown): [string, Messages][] {
  const found: [string, Messages][] = [];
  const messages = resourceOf(client, "messages");
  if (messages) found.push(["messages", messages]);
  const beta = resourceOf(readProperty(client, "beta"), "messages");
  if (beta) found.push(["beta.messages", beta]);
  return found;
}

function resourceOf(parent: unknown, key: string): Messages | undefined {
  const resource = readProperty(parent, key);
  if (typeof resource !== "object" || resource === null) return undefined;
  return typeof (resource as { create?: unknown }).create === "function"
    ? (resource as Messages)
    : undefined;
}

/** A property of a client that may be anything (a getter that throws, a Proxy). */
function readProperty(value: unknown, key: string): unknown {
  if (typeof value !== "object" || value === null) return undefined;
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

function createLive(options: WrapAnthropicOptions): Live {
  const resolved = resolveWrapOptions(options);
  const safely = createSafely({
    name: "@chorus/anthropic",
    onError: resolved.onError,
    logger: resolved.logger,
  });
  const recorder = new SpanRecorder({
    framework: "anthropic",
    sink: resolved.sink,
    channel: resolved.channel,
    agent: resolved.agent,
    safely,
  });
  const ctx: CallContext = {
    recorder,
    pending: new BoundedMap<string, PendingTool>(MAX_PENDING_TOOLS),
    capture: resolved.capture,
    emitTokens: resolved.emitTokens,
    ids: new TraceIdPool(),
  };
  const close = () => {
    // Only a client we created is ours to close, within the exit budget the user chose (its
    // drainTimeoutMs) rather than close()'s default; close() never rejects, but stay defensive.
    const owned = resolved.owned;
    safely("close", () => owned?.close(owned.options.drainTimeoutMs).catch(() => {}));
  };
  return { ctx, safely, close };
}

function install(messages: Messages, name: string, live: Live): void {
  const previous = Object.getOwnPropertyDescriptor(messages, "create");
  const original = messages.create as Create;
  const state: WrapState = {
    original,
    wrapped: instrumented(original, () => state.live, name),
    previous,
    live,
  };
  Object.defineProperty(messages, STATE, {
    value: state,
    configurable: true,
    enumerable: false,
    writable: false,
  });
  Object.defineProperty(messages, "create", {
    value: state.wrapped,
    configurable: true,
    enumerable: false,
    writable: true,
  });
}

/**
 * The replacement `create`. It calls the SDK's once, with the same `this` and arguments, and
 * returns or throws exactly what that returns or throws; instrumentation happens beside it.
 * `messages.stream()` calls `this.create(...)`, so the stream helper is instrumented here too,
 * and its `MessageStream` (helpers, events, `finalMessage()`, abort) is the SDK's own; the
 * beta tool runner and message threads call `beta.messages.create()`. `name` is the resource's
 * (`messages`, `beta.messages`), reported as `metadata.method`.
 */
function instrumented(original: Create, live: () => Live | undefined, name: string): Create {
  return function create(this: unknown, ...args: unknown[]): unknown {
    const current = live();
    if (current === undefined) return original.apply(this, args);
    const { ctx, safely } = current;
    const call = safely("llm.start", () => {
      const started = new LlmCall(ctx, args[0], args[1], name);
      started.begin(args[0]);
      return started;
    });
    let result: unknown;
    try {
      result = original.apply(this, args);
    } catch (error) {
      if (call) safely("llm.error", () => call.failed(error));
      throw error;
    }
    if (call) {
      const tapped = safely("response", () =>
        tapApiPromise(
          result,
          {
            onParseStart: () => call.parseStarted(),
            onParsed: (data) => call.parsed(data),
            onError: (error) => call.failed(error),
            onRawResponse: (response) => call.rawResponse(response),
          },
          safely,
        ),
      );
      if (tapped === false) {
        safely("response", () => {
          throw new Error(
            "messages.create returned something other than an APIPromise; the call is not observed",
          );
        });
      }
    }
    return result;
  };
}

function reportBoot(options: WrapAnthropicOptions, error: unknown): void {
  try {
    options.onError?.(error, { operation: "wrap" });
  } catch {
    // swallowed: see createSafely
  }
}
