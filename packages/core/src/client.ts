import { CircuitBreaker } from "./circuit-breaker.js";
import { type EmitEvent, EventBuilder } from "./event-builder.js";
import { EventsApi } from "./events-api.js";
import type { FailOpenPolicy } from "./fail-open.js";
import { Flusher } from "./flusher.js";
import { HttpClient } from "./http.js";
import { IntentsApi } from "./intents-api.js";
import { createConsoleLogger, Diagnostics, silentLogger } from "./logger.js";
import { type ChorusOptions, type ResolvedOptions, resolveOptions } from "./options.js";
import { backgroundFetch, onHostExit } from "./platform.js";
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

  readonly #diagnostics: Diagnostics;
  readonly #queue: DeliveryQueue;
  readonly #counters = new Counters();
  readonly #breaker: CircuitBreaker;
  readonly #flusher: Flusher;
  readonly #builder: EventBuilder;
  #closed: Promise<void> | undefined;
  #exitDrainFailed = false;
  #unhookExit: () => void = () => {};

  constructor(options: ChorusOptions = {}) {
    const { options: resolved, problems } = resolveOptions(options);
    const { apiKey: _secret, ...visible } = resolved;
    this.options = Object.freeze(visible);
    const logger =
      options.logger === false
        ? silentLogger
        : (options.logger ?? createConsoleLogger(resolved.logLevel));
    this.#diagnostics = new Diagnostics(logger, options.onError, resolved.warnIntervalMs);
    for (const problem of problems) this.#diagnostics.warn(`option ignored: ${problem}`);
    if (resolved.enabled && resolved.apiKey === undefined) {
      this.#diagnostics.warn(
        "no API key (set apiKey or CHORUS_API_KEY); the hub will refuse events",
      );
    }

    this.#builder = new EventBuilder(
      { channel: resolved.channel, env: resolved.env, app: resolved.app, agent: resolved.agent },
      { mode: resolved.capture, maxStringLength: resolved.maxStringLength },
    );
    this.#queue = new DeliveryQueue({
      maxEvents: resolved.maxQueueSize,
      maxBytes: resolved.maxQueueBytes,
    });
    this.#breaker = new CircuitBreaker({
      failureThreshold: resolved.circuitFailureThreshold,
      cooldownMs: resolved.circuitCooldownMs,
      maxCooldownMs: resolved.circuitMaxCooldownMs,
    });
    const http = new HttpClient({
      baseUrl: resolved.url,
      apiKey: resolved.apiKey,
      timeoutMs: resolved.timeoutMs,
      fetch: options.fetch,
      backgroundFetch,
    });
    const backoff = { baseMs: resolved.retryBaseDelayMs, maxMs: resolved.retryMaxDelayMs };
    const transport = new Transport(http, this.#breaker, backoff, resolved.maxRetries);
    this.#flusher = new Flusher({
      queue: this.#queue,
      http,
      breaker: this.#breaker,
      counters: this.#counters,
      diagnostics: this.#diagnostics,
      config: {
        flushIntervalMs: resolved.flushIntervalMs,
        maxBatchSize: resolved.maxBatchSize,
        maxBatchBytes: resolved.maxBatchBytes,
        backoff,
      },
    });

    const policy: FailOpenPolicy = { failOpen: resolved.failOpen, diagnostics: this.#diagnostics };
    const build = (input: unknown) => this.#builder.build(input);
    this.events = new EventsApi({ transport, policy, build });
    this.intents = new IntentsApi({ transport, policy, build }, resolved.agent);
    this.stream = new StreamsApi({
      http,
      diagnostics: this.#diagnostics,
      timeoutMs: resolved.timeoutMs,
    });
    this.realtime = new Realtime({
      transport,
      diagnostics: this.#diagnostics,
      build,
      config: {
        transport: resolved.realtimeTransport,
        timeoutMs: resolved.timeoutMs,
        ttlSeconds: resolved.realtimeTtlSeconds,
        maxBuffered: resolved.realtimeMaxBuffered,
      },
    });

    if (resolved.drainOnExit) this.#unhookExit = onHostExit(() => this.#drainOnExit());
  }

  /**
   * Queue one event for delivery. Synchronous, O(µs), never throws and never waits on the
   * network. Stamps `id` (UUIDv7), `occurredAt` and the current trace context (`traceId`,
   * `spanId`, `parentSpanId`, `intentId`, `agent`), fills `channel`/`env`/`app`/`agent` from
   * the options, applies content capture, validates with the hub's schema and serializes once.
   *
   * Returns the event id, or `undefined` when the event was refused (invalid, too large, client
   * closed or disabled): refusals are counted in `stats().invalid`, logged (rate-limited) and
   * passed to `onError`. Use `events.publish()` for a call that throws on invalid input.
   */
  emit(event: EmitEvent): string | undefined {
    if (!this.options.enabled) return undefined;
    if (this.#closed) {
      this.#counters.dropped++;
      this.#diagnostics.warnRateLimited("emit_after_close", "emit() after close(); event dropped");
      return undefined;
    }
    const built = this.#builder.build(event);
    if (!built.ok) {
      this.#counters.invalid++;
      this.#diagnostics.report(built.error, { operation: "emit", events: 1 });
      this.#diagnostics.warnRateLimited(
        "invalid_event",
        `emit() dropped an invalid event: ${built.error.message}`,
      );
      return undefined;
    }
    const { json, bytes } = built.value;
    const id = built.value.event.id as string;
    this.#counters.enqueued++;
    const dropped = this.#queue.push({ id, json, bytes });
    if (dropped > 0) this.#flusher.onDropped(dropped);
    this.#flusher.notify();
    return id;
  }

  /** Counters and current state of delivery. */
  stats(): ChorusStats {
    const c = this.#counters;
    return {
      queued: this.#flusher.pending,
      queuedBytes: this.#queue.bytes,
      sent: c.sent,
      dropped: c.dropped,
      retried: c.retried,
      failed: c.failed,
      invalid: c.invalid,
      circuit: this.#breaker.state,
    };
  }

  /**
   * Deliver everything emitted so far. Resolves `true` once all of it has left the queue
   * (delivered, or refused by the hub), `false` when `timeoutMs` passed first. Never rejects.
   */
  flush(timeoutMs: number = DEFAULT_CLOSE_TIMEOUT_MS): Promise<boolean> {
    return this.#flusher.flush(timeoutMs);
  }

  /**
   * The flush of a shutdown path (adapters' `shutdown()`, frameworks' exit hooks): like the exit
   * drain, it waits at most `drainTimeoutMs` (or `timeoutMs` if shorter) and gives up at once
   * when nothing listens at the hub's address. Never rejects; the client stays open.
   */
  drain(timeoutMs?: number): Promise<boolean> {
    const limit = this.options.drainTimeoutMs;
    return this.#flusher.flush(timeoutMs === undefined ? limit : Math.min(timeoutMs, limit), true);
  }

  /**
   * Drain (up to `timeoutMs`), then stop: timers cleared, the exit hook removed, realtime
   * disconnected. Events still queued after the timeout are counted as dropped. Idempotent.
   */
  close(timeoutMs: number = DEFAULT_CLOSE_TIMEOUT_MS): Promise<void> {
    this.#closed ??= (async () => {
      this.#unhookExit();
      await this.#flusher.flush(timeoutMs, true);
      await this.#flusher.stop();
      const left = this.#queue.clear();
      if (left > 0) {
        this.#counters.dropped += left;
        this.#counters.settled += left;
        this.#diagnostics.warn("closed with undelivered events", { dropped: left });
      }
      this.stream.closeAll();
      await this.realtime.close().catch(() => {});
    })();
    return this.#closed;
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

  /**
   * `beforeExit` fires when the event loop is empty; a flush there keeps the process alive just
   * long enough to deliver (bounded by `drainTimeoutMs`). If a drain times out (hub down) we do
   * not try again, or the process would never exit.
   */
  #drainOnExit(): void {
    if (this.#closed || this.#exitDrainFailed || this.#flusher.pending === 0) return;
    void this.#flusher.flush(this.options.drainTimeoutMs, true).then((drained) => {
      if (!drained) {
        this.#exitDrainFailed = true;
        this.#diagnostics.warn("exit drain timed out; undelivered events are lost", {
          queued: this.#flusher.pending,
        });
      }
    });
  }
}
