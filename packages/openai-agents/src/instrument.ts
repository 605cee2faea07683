import type { Chorus } from "@chorus/core";
import {
  addTraceProcessor,
  setTraceProcessors,
  setTracingDisabled,
  type TracingProcessor,
} from "@openai/agents";
import { attachHooks, type HookTarget } from "./hooks.js";
import {
  type ClientTarget,
  type InstrumentOptions,
  resolveClient,
  resolveLogger,
} from "./options.js";
import { ChorusTracingProcessor } from "./processor.js";
import { registryOf } from "./registry.js";
import { createSafely, type Safely } from "@chorus/core/adapter-kit";
import { type ObservableStream, observeStream } from "./stream.js";
import { SpanTracker } from "./tracker.js";

/** What {@link instrument} returns. */
export interface InstrumentHandle {
  /** The client events go to. */
  readonly chorus: Chorus;
  /** The processor registered with the SDK (to compose with `setTraceProcessors` yourself). */
  readonly processor: TracingProcessor;
  /** Listen to a `Runner`'s or an `Agent`'s hooks as well; returns a function that stops listening. */
  observe(target: HookTarget): () => void;
  /**
   * Iterate a streamed run through this to get time to first token and, with `emitTokens`,
   * `llm.token` events: `for await (const event of handle.observeStream(result)) …`.
   */
  observeStream<E>(result: ObservableStream<E>): AsyncIterable<E>;
  /** Deliver what is queued (never rejects). */
  forceFlush(timeoutMs?: number): Promise<void>;
  /** Stop emitting and stop listening to hooks. The client stays open; `instrument()` again resumes. */
  uninstrument(): void;
  /**
   * `uninstrument()`, then one bounded wait for the hub. A client `instrument()` created is
   * closed within `timeoutMs` (default: its `drainTimeoutMs`), aborting what is still in flight
   * when the time is up; a client you gave is drained within its `drainTimeoutMs` (or
   * `timeoutMs` if shorter) and stays open. Never rejects.
   */
  shutdown(timeoutMs?: number): Promise<void>;
}

interface Registration {
  handle: InstrumentHandle;
  processor: ChorusTracingProcessor;
  /** The processor is in the SDK's list (added, or kept by the last `setTraceProcessors`). */
  inSdk: boolean;
  closed: boolean;
}

/** How long `forceFlush()` waits for the hub when given no timeout. */
const DEFAULT_TIMEOUT_MS = 5_000;

/**
 * Send every OpenAI Agents SDK run to Chorus: agents, model calls with usage, tool calls,
 * handoffs and guardrails, linked in one trace per run. Registers a `TracingProcessor` with the
 * SDK and turns its tracing on. Never throws and never lets a failure reach a run.
 *
 * Calling it again for the same client returns the same handle: events are never doubled.
 *
 * @example
 * import { Agent, Runner } from "@openai/agents";
 * import { instrument } from "@chorus/openai-agents";
 *
 * const runner = new Runner();
 * const chorus = instrument({ chorus: { apiKey: process.env.CHORUS_API_KEY }, channel: "support", hooks: runner });
 * const result = await runner.run(new Agent({ name: "Helper", instructions: "Be brief." }), "Hi!");
 * await chorus.shutdown(); // flush before exit
 */
export function instrument(options: InstrumentOptions = {}): InstrumentHandle {
  const safely = createSafely({
    name: "@chorus/openai-agents",
    logger: resolveLogger(options),
    onError: options.onError,
  });
  let target: ClientTarget | undefined;
  let chorus: Chorus | undefined;
  try {
    target = resolveClient(options);
    const registry = registryOf<Registration>();
    let registration = registry.get(target.key);
    if (registration?.closed) registration = undefined;
    if (registration) {
      // Registered before (a second call, a module reload): reuse, never add a second processor.
      registration.processor.activate();
    } else {
      chorus = target.client();
      registration = create(chorus, target.owned, options, safely);
      registry.set(target.key, registration);
    }
    register(registration, registry, options.exclusive === true);
    if (options.enableTracing !== false) setTracingDisabled(false);
    for (const hooks of list(options.hooks)) registration.handle.observe(hooks);
    return registration.handle;
  } catch (error) {
    safely.report(error, { operation: "instrument" });
    return inertHandle(chorus ?? safely("instrument.client", () => target?.client()));
  }
}

function create(
  chorus: Chorus,
  owned: boolean,
  options: InstrumentOptions,
  safely: Safely,
): Registration {
  const tracker = new SpanTracker({
    chorus,
    safely,
    channel: options.channel,
    agent: options.agent,
    content: (options.capture ?? chorus.options.capture) !== "metadata",
    emitTokens: options.emitTokens === true,
  });
  const processor = new ChorusTracingProcessor({ tracker, safely, chorus });
  const detachers = new Map<HookTarget, () => void>();
  const registration: Registration = {
    processor,
    inSdk: false,
    closed: false,
    handle: undefined as unknown as InstrumentHandle,
  };
  const uninstrument = () => {
    processor.deactivate();
    for (const detach of detachers.values()) detach();
    detachers.clear();
  };
  registration.handle = {
    chorus,
    processor,
    observe(target) {
      return (
        safely("observe", () => {
          const existing = detachers.get(target);
          if (existing) return existing;
          const detach = attachHooks(target, tracker, safely);
          const once = () => {
            if (detachers.get(target) !== once) return;
            detachers.delete(target);
            detach();
          };
          detachers.set(target, once);
          return once;
        }) ?? (() => {})
      );
    },
    observeStream: (result) => observeStream(result, tracker, safely),
    async forceFlush(timeoutMs = DEFAULT_TIMEOUT_MS) {
      await safeFlush(chorus, timeoutMs);
    },
    uninstrument: () => safely("uninstrument", uninstrument),
    async shutdown(timeoutMs?: number) {
      safely("uninstrument", uninstrument);
      // One wait, not a flush and then a close: each would wait its full time for a hanging hub.
      try {
        if (owned) {
          registration.closed = true;
          await chorus.close(timeoutMs ?? chorus.options.drainTimeoutMs);
        } else await chorus.drain(timeoutMs);
      } catch (error) {
        // close() and drain() never reject by contract; a replaced client is not trusted to keep it.
        safely.report(error, { operation: "shutdown" });
      }
    },
  };
  return registration;
}

/**
 * Put the processor in the SDK's list. Exclusive: the list becomes exactly the active Chorus
 * processors (several clients may be instrumented), dropping the SDK's default exporter.
 */
function register(
  registration: Registration,
  registry: Map<unknown, Registration>,
  exclusive: boolean,
): void {
  if (!exclusive) {
    if (!registration.inSdk) addTraceProcessor(registration.processor);
    registration.inSdk = true;
    return;
  }
  const active = [...registry.values()].filter((r) => !r.closed && r.processor.active);
  for (const r of registry.values()) r.inSdk = active.includes(r);
  setTraceProcessors(active.map((r) => r.processor));
}

async function safeFlush(chorus: Chorus, timeoutMs: number): Promise<void> {
  try {
    await chorus.flush(timeoutMs);
  } catch {
    // flush() never rejects by contract; a replaced client is not trusted to keep it.
  }
}

/** What `instrument()` returns if it failed internally: does nothing, breaks nothing. */
function inertHandle(chorus: Chorus | undefined): InstrumentHandle {
  const flush = async (timeoutMs = DEFAULT_TIMEOUT_MS) => {
    if (chorus) await safeFlush(chorus, timeoutMs);
  };
  return {
    // Only undefined if even creating a client failed; the handle is inert either way.
    chorus: chorus as Chorus,
    processor: {
      async onTraceStart() {},
      async onTraceEnd() {},
      async onSpanStart() {},
      async onSpanEnd() {},
      async shutdown() {},
      async forceFlush() {},
    },
    observe: () => () => {},
    observeStream: (result) => result,
    forceFlush: flush,
    uninstrument() {},
    shutdown: flush,
  };
}

function list<T>(value: T | readonly T[] | undefined): readonly T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? (value as readonly T[]) : [value as T];
}
