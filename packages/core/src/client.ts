import { CircuitBreaker } from "./circuit-breaker.js";
import { type EmitEvent, EventBuilder } from "./event-builder.js";
import { lazyApi } from "./api-front.js";
import type { EventsApi } from "./events-api.js";
import type { FailOpenPolicy } from "./fail-open.js";
import { Flusher } from "./flusher.js";
import { newEventId } from "./ids.js";
import type { IntentsApi } from "./intents-api.js";
import { createConsoleLogger, Diagnostics, silentLogger } from "./logger.js";
import { type ChorusOptions, type ResolvedOptions, resolveOptions } from "./options.js";
import { HttpClient } from "./http.js";
import { exitBudget, hookExitDrain, guardSecrets, platformFetch, severalHubs } from "./platform.js";
import { DeliveryQueue } from "./queue.js";
import { Realtime } from "./realtime.js";
import { type ChorusStats, Counters } from "./stats.js";
import { StreamsApi } from "./streams-api.js";
import { currentTrace, type TraceContext, type TraceOptions, withTrace } from "./trace.js";
import { Transport } from "./transport.js";

/** `close()` and `flush()` wait this long when given no timeout. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 5000;

/**
 * The Chorus client. `emit()` is synchronous and never throws: events are validated, stamped
 * and queued, and a background flusher delivers them in batches. Awaitable APIs (`events`,
 * `intents`), SSE `stream`s and MQTT `realtime` hang off the same client. Nothing is shared
 * between two clients (except the async trace context), so clients with different keys or
 * hubs never interfere.
 *
 * @example
 * import { Chorus } from "@chorus/core";
 *
 * const chorus = new Chorus({ url: "http://127.0.0.1:7420", apiKey: process.env.CHORUS_API_KEY, channel: "research" });
 * chorus.emit({ type: "agent.start", agent: "researcher", payload: { task: "find X" } });
 * await chorus.withTrace(async () => {
 *   chorus.emit({ type: "tool.start", payload: { name: "search", callId: "c1" } });
 * });
 * await chorus.close(); // drains the queue
 */
export class Chorus implements AsyncDisposable {
  /** Awaited event calls: `publish` (strict) and `list`. */
  readonly events: EventsApi;
  readonly intents: IntentsApi;
  /** SSE streams: `channel`, `intent`, `agent`, `portfolio`. */
  readonly stream: StreamsApi;
  readonly realtime: Realtime;
  /** The options in effect after defaults and `CHORUS_*` variables (the API key is not kept here). */
  readonly options: Readonly<Omit<ResolvedOptions, "apiKey">>;

  readonly #s: Shared;

  constructor(options: ChorusOptions = {}) {
    const view = (options as { [VIEW]?: Shared })[VIEW];
    const shared = view ?? createShared(options);
    this.#s = shared;
    // The strict view shares everything (queue, circuit, streams, realtime, lifecycle) and
    // differs only in what its awaitable calls do when the hub is away: they throw.
    const failOpen = view ? false : shared.options.failOpen;
    this.options = view ? Object.freeze({ ...shared.options, failOpen }) : shared.options;
    const policy: FailOpenPolicy = { failOpen, diagnostics: shared.diagnostics };
    const build = (input: unknown) => shared.builder.build(input);
    const agent = () => currentTrace()?.agent ?? shared.agent;
    const ctx = { transport: shared.transport, policy, build, newId: newEventId, agent };
    this.events = lazyApi("events", policy, (s) => new s.EventsApi(ctx));
    this.intents = lazyApi("intents", policy, (s) => new s.IntentsApi(ctx));
    this.stream = shared.stream;
    this.realtime = shared.realtime;
    if (!failOpen) shared.strict ??= this;
  }

  /**
   * The same client with `failOpen: false`, for code that must know the hub is away: its
   * awaitable calls (`events.*`, `intents.*`) throw `ConnectionError` on an outage instead of
   * answering `undefined` or an empty page. Queue, streams, realtime and `close()` are shared
   * with this client. A client created with `failOpen: false` is its own strict view.
   *
   * @example
   * const intent = await chorus.strict.intents.get(id); // never undefined: throws when the hub is down
   */
  get strict(): Chorus {
    this.#s.strict ??= new Chorus({ [VIEW]: this.#s } as ChorusOptions);
    return this.#s.strict;
  }

  /**
   * Queue one event for delivery. Synchronous, O(µs), never throws and never waits on the
   * network. Stamps `id` (UUIDv7), `occurredAt` and the current trace context (`traceId`,
   * `spanId`, `parentSpanId`, `intentId`, `agent`), fills `channel`/`env`/`app`/`agent` from
   * the options, applies content capture, validates with the hub's schema and serializes once.
   *
   * Returns the event id, or `undefined` when the event was refused (invalid, too large in a
   * browser, client closed or disabled): refusals are counted in `stats().invalid`, logged
   * (rate-limited) and passed to `onError`. In Node an event over the size limit loses its
   * largest fields instead, named in `metadata.oversize`. Use `events.publish()` for a call that
   * throws on invalid input.
   */
  emit(event: EmitEvent): string | undefined {
    if (!this.options.enabled) return undefined;
    if (this.#s.closed) {
      this.#s.counters.dropped++;
      this.#s.diagnostics.warnRateLimited(
        "emit_after_close",
        "emit() after close(); event dropped",
      );
      return undefined;
    }
    const built = this.#s.builder.build(event, true);
    if (!built.ok) {
      this.#s.counters.invalid++;
      this.#s.diagnostics.report(built.error, { operation: "emit", events: 1 });
      this.#s.diagnostics.warnRateLimited(
        "invalid_event",
        `emit() dropped an invalid event: ${built.error.message}`,
      );
      return undefined;
    }
    const { json, bytes } = built.value;
    const id = built.value.event.id as string;
    this.#s.counters.enqueued++;
    const dropped = this.#s.queue.push(
      id,
      json,
      bytes,
      built.value.unchecked ? built.value.event : undefined,
    );
    if (dropped > 0) this.#s.flusher.onDropped(dropped);
    this.#s.flusher.notify();
    return id;
  }

  /** Counters and current state of delivery. */
  stats(): ChorusStats {
    const c = this.#s.counters;
    return {
      queued: this.#s.flusher.pending,
      queuedBytes: this.#s.flusher.pendingBytes,
      sent: c.sent,
      dropped: c.dropped,
      retried: c.retried,
      failed: c.failed,
      invalid: c.invalid,
      circuit: this.#s.breaker.state,
    };
  }

  /**
   * Deliver everything emitted so far. Resolves `true` once all of it has left the queue
   * (delivered, or refused by the hub), `false` when `timeoutMs` passed first. Never rejects.
   */
  flush(timeoutMs: number = DEFAULT_CLOSE_TIMEOUT_MS): Promise<boolean> {
    return this.#s.flusher.flush(timeoutMs);
  }

  /**
   * The flush of a shutdown path (adapters' `shutdown()`, frameworks' exit hooks): like the exit
   * drain, it waits at most `drainTimeoutMs` less what the exit drain leaves for the process to
   * end in (or `timeoutMs` if shorter) and gives up at once when nothing listens at the hub's
   * address. Never rejects; the client stays open.
   */
  drain(timeoutMs?: number): Promise<boolean> {
    const limit = exitBudget(this.options.drainTimeoutMs);
    return this.#s.flusher.flush(
      timeoutMs === undefined ? limit : Math.min(timeoutMs, limit),
      true,
    );
  }

  /**
   * Drain (up to `timeoutMs`), then stop: timers cleared, the exit hook removed, realtime
   * disconnected. Events still queued after the timeout are counted as dropped. Idempotent.
   */
  close(timeoutMs: number = DEFAULT_CLOSE_TIMEOUT_MS): Promise<void> {
    this.#s.closed ??= (async () => {
      this.#s.offExit();
      await this.#s.flusher.flush(timeoutMs, true);
      await this.#s.flusher.stop();
      const left = this.#s.queue.clear();
      if (left > 0) {
        this.#s.counters.dropped += left;
        this.#s.counters.settled += left;
        this.#s.diagnostics.warn("closed with undelivered events", { dropped: left });
      }
      this.stream.closeAll();
      await this.realtime.close().catch(() => {});
    })();
    return this.#s.closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Wrap a serverless handler so every invocation flushes before it returns: the platform may
   * freeze the process as soon as the handler resolves, and `beforeExit` never fires there.
   * Flush failures never change the handler's result or error.
   *
   * @example
   * export const handler = chorus.flushAfter(async (event) => {
   *   chorus.emit({ type: "agent.start", payload: { input: event.body } });
   *   return { statusCode: 200 };
   * });
   */
  flushAfter<A extends unknown[], R>(
    fn: (...args: A) => R | Promise<R>,
    options: { timeoutMs?: number } = {},
  ): (...args: A) => Promise<Awaited<R>> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    return async (...args: A): Promise<Awaited<R>> => {
      try {
        return (await fn(...args)) as Awaited<R>;
      } finally {
        await this.flush(timeoutMs);
      }
    };
  }

  /** {@link withTrace}: run `fn` in a span (a new trace, or a child of the current span). */
  withTrace<T>(fn: () => T, options?: TraceOptions): T {
    return withTrace(fn, options);
  }

  /** The trace context of the current async flow. */
  currentTrace(): TraceContext | undefined {
    return currentTrace();
  }
}

/** What a client and its strict view share: everything but the fail-open policy. */
interface Shared {
  options: Readonly<Omit<ResolvedOptions, "apiKey">>;
  agent: string | undefined;
  diagnostics: Diagnostics;
  queue: DeliveryQueue;
  counters: Counters;
  breaker: CircuitBreaker;
  flusher: Flusher;
  builder: EventBuilder;
  transport: Transport;
  stream: StreamsApi;
  realtime: Realtime;
  closed: Promise<void> | undefined;
  exitDrainFailed: boolean;
  offExit: () => void;
  strict: Chorus | undefined;
}

/** Marks the options of a strict view: not exported, so only this module can make one. */
const VIEW = Symbol("chorus.strictView");

function createShared(options: ChorusOptions): Shared {
  const { options: resolved, problems } = resolveOptions(options);
  const logger =
    options.logger === false
      ? silentLogger
      : (options.logger ?? createConsoleLogger(resolved.logLevel));
  const diagnostics = new Diagnostics(
    ...guardSecrets(resolved, problems, logger, options.onError),
    resolved.warnIntervalMs,
  );
  const { apiKey: _secret, ...visible } = resolved;
  for (const problem of problems) diagnostics.warn(`option ignored: ${problem}`);
  if (resolved.enabled && resolved.apiKey === undefined) {
    diagnostics.warn("no API key (set apiKey or CHORUS_API_KEY); the hub will refuse events");
  }
  const builder = new EventBuilder(
    { channel: resolved.channel, env: resolved.env, app: resolved.app, agent: resolved.agent },
    { mode: resolved.capture, maxStringLength: resolved.maxStringLength },
  );
  const queue = new DeliveryQueue({
    maxEvents: resolved.maxQueueSize,
    maxBytes: resolved.maxQueueBytes,
  });
  const breaker = new CircuitBreaker({
    failureThreshold: resolved.circuitFailureThreshold,
    cooldownMs: resolved.circuitCooldownMs,
    maxCooldownMs: resolved.circuitMaxCooldownMs,
  });
  const http = new (severalHubs?.Http ?? HttpClient)({
    baseUrl: resolved.url,
    apiKey: resolved.apiKey,
    timeoutMs: resolved.timeoutMs,
    fetch: options.fetch,
    platformFetch,
  });
  const backoff = { baseMs: resolved.retryBaseDelayMs, maxMs: resolved.retryMaxDelayMs };
  const transport = new Transport(http, breaker, backoff, resolved.maxRetries);
  const counters = new Counters();
  const flusher = new Flusher({
    queue,
    http,
    breaker,
    counters,
    diagnostics,
    config: {
      flushIntervalMs: resolved.flushIntervalMs,
      maxBatchSize: resolved.maxBatchSize,
      maxBatchBytes: resolved.maxBatchBytes,
      backoff,
    },
  });
  const build = (input: unknown) => builder.build(input);
  const shared: Shared = {
    options: Object.freeze(visible),
    agent: resolved.agent,
    diagnostics,
    queue,
    counters,
    breaker,
    flusher,
    builder,
    transport,
    stream: new StreamsApi({
      http,
      diagnostics,
      timeoutMs: resolved.timeoutMs,
      idleTimeoutMs: resolved.streamIdleTimeoutMs,
    }),
    realtime: new Realtime({
      transport,
      diagnostics,
      build,
      config: {
        transport: resolved.realtimeTransport,
        timeoutMs: resolved.timeoutMs,
        ttlSeconds: resolved.realtimeTtlSeconds,
        maxBuffered: resolved.realtimeMaxBuffered,
      },
    }),
    closed: undefined,
    exitDrainFailed: false,
    offExit: () => {},
    strict: undefined,
  };
  if (resolved.drainOnExit) shared.offExit = hookExitDrain(shared);
  return shared;
}
