import type { ChorusEvent } from "@chorus/protocol";
import { eventTopic, INGEST_TOPIC_ROOT, subscriptionFilter } from "@chorus/protocol/wire";
import { AsyncChannel } from "./async-channel.js";
import type { EmitEvent } from "./event-builder.js";
import { type RealtimeCallback, SubscriptionRegistry } from "./realtime-dispatch.js";
import { RealtimeSession, type RealtimeStatus } from "./realtime-session.js";
import { RingBuffer } from "./ring-buffer.js";
import type { Schemas } from "./platform.js";
import type {
  RealtimeDeps,
  RealtimeStatusListener,
  RealtimeSubscription,
  SubscribeFields,
} from "./realtime.js";
import { invalidArgument, parseOrThrow, schemas } from "./validate.js";

/** Events a realtime iterator holds for a slow reader before dropping the oldest. */
export const DEFAULT_ITERATOR_BUFFER = 1000;

/**
 * What `chorus.realtime` does (see `Realtime`, its public face): loaded on first realtime use,
 * with the MQTT session, dispatch and mqtt.js, so a page that never uses realtime never
 * downloads any of it.
 */
export class RealtimeClient {
  readonly #deps: RealtimeDeps;
  readonly #registry: SubscriptionRegistry;
  readonly #session: RealtimeSession;
  readonly #listeners: ReadonlySet<RealtimeStatusListener>;
  /** Publishes waiting for a connection, bounded: the oldest go first. */
  readonly #outbox = new RingBuffer<{ event: ChorusEvent; json: string }>();
  readonly #iterators = new Set<RealtimeSubscription>();
  #droppedPublishes = 0;

  constructor(deps: RealtimeDeps, listeners: ReadonlySet<RealtimeStatusListener>) {
    this.#deps = deps;
    this.#listeners = listeners;
    this.#registry = new SubscriptionRegistry(deps.diagnostics);
    this.#session = new RealtimeSession(deps, {
      filters: () => this.#registry.filters,
      refused: (filter) => this.#registry.remove(filter),
      message: (topic, payload) => this.#registry.dispatch(topic, payload),
      live: () => this.#flushOutbox(),
      status: (status, error) => this.#emit(status, error),
      listening: () => this.#registry.size > 0,
    });
  }

  /** Whether a broker connection is up right now. */
  get connected(): boolean {
    return this.#session.connected;
  }

  /** Publishes dropped because the disconnected buffer was full. */
  get droppedPublishes(): number {
    return this.#droppedPublishes;
  }

  /**
   * Connect (idempotent). Rejects with `ConnectionError` when the hub or the broker refuses
   * (`reason: "auth_failed"` for bad credentials, after an `auth_failed` status).
   */
  connect(): Promise<void> {
    return this.#session.connect();
  }

  /**
   * Subscribe; connects first when needed. Resolves with the topic filter once the broker has
   * confirmed it (while reconnecting: at once, and the filter is subscribed on reconnect). The callback receives only messages matching this filter, once each even when
   * another of its subscriptions overlaps; it may be async, and if it throws the error is logged
   * and delivery goes on.
   */
  async subscribe(fields: SubscribeFields, callback: RealtimeCallback): Promise<string> {
    if (typeof callback !== "function") throw invalidArgument("callback", "must be a function");
    const checked = checkFields(await schemas(), fields);
    await this.connect();
    const filter = subscriptionFilter(this.#session.org as string, checked);
    if (this.#registry.add(filter, callback)) await this.#session.subscribe([filter]);
    this.#session.refTimers();
    return filter;
  }

  /** Drop the subscription with this filter (only the given callback's, when one is passed). */
  async unsubscribe(filter: string, callback?: RealtimeCallback): Promise<void> {
    const unused = this.#registry.remove(filter, callback);
    this.#session.refTimers();
    if (unused) await this.#session.unsubscribe(filter);
  }

  /**
   * Publish an event over MQTT (to `chorus-in/{org}/...`; the hub validates, stores and
   * republishes it). `app` (or the client's default app) and `type` are required. Stamped like
   * `emit()`. While disconnected, publishes wait in a bounded buffer (oldest dropped first) and
   * go out on reconnect. Rejects only with `ValidationError`.
   */
  async publish(event: EmitEvent): Promise<void> {
    if (typeof event !== "object" || event === null)
      throw invalidArgument("event", "must be an object");
    if (event.type === undefined) throw invalidArgument("type", "is required");
    await schemas(); // so that build() validates now (a page loads them on first use)
    const built = this.#deps.build(event);
    if (!built.ok) throw built.error;
    if (built.value.event.app === undefined) {
      throw invalidArgument("app", "is required for realtime publish");
    }
    this.#outbox.push({ event: built.value.event as ChorusEvent, json: built.value.json });
    while (this.#outbox.length > this.#deps.config.maxBuffered) {
      this.#outbox.shift();
      this.#droppedPublishes++;
      this.#deps.diagnostics.warnRateLimited(
        "realtime_buffer_full",
        "realtime publish buffer full; dropped the oldest",
        {
          dropped: this.#droppedPublishes,
        },
      );
    }
    if (!this.#session.connected && !this.#session.pending) {
      this.connect().catch((error: unknown) => {
        this.#deps.diagnostics.warnRateLimited(
          "realtime_connect",
          "realtime connect failed; publishes stay buffered",
          {
            error: error instanceof Error ? error.message : String(error),
          },
        );
      });
    }
    this.#flushOutbox();
  }

  /**
   * The async-iterator form of {@link subscribe}. A reader that falls more than `maxBuffered`
   * events behind loses the oldest.
   *
   * @example
   * const sub = await chorus.realtime.events({ channel: "research" });
   * for await (const event of sub) if (event.type === "agent.end") break;
   */
  async events(
    fields: SubscribeFields,
    options: { maxBuffered?: number } = {},
  ): Promise<RealtimeSubscription> {
    const max = Math.max(1, options.maxBuffered ?? DEFAULT_ITERATOR_BUFFER);
    let dropped = 0;
    let subscription: RealtimeSubscription | undefined;
    const channel = new AsyncChannel<ChorusEvent>({ onReturn: () => void subscription?.close() });
    const callback: RealtimeCallback = (event) => {
      if (channel.length >= max) {
        channel.dropOldest();
        dropped++;
        this.#deps.diagnostics.warnRateLimited(
          "realtime_iterator_full",
          "realtime reader is slow; dropped the oldest",
          {
            dropped,
          },
        );
      }
      channel.push(event);
    };
    const filter = await this.subscribe(fields, callback);
    const close = async () => {
      if (!subscription || !this.#iterators.delete(subscription)) return;
      channel.end();
      await this.unsubscribe(filter, callback);
    };
    subscription = { filter, close, [Symbol.asyncIterator]: () => channel };
    this.#iterators.add(subscription);
    return subscription;
  }

  /** Disconnect and forget every subscription. */
  async close(): Promise<void> {
    for (const iterator of [...this.#iterators]) await iterator.close();
    this.#registry.clear();
    await this.#session.close();
  }

  #flushOutbox(): void {
    const org = this.#session.org;
    if (org === undefined) return;
    while (this.#outbox.length > 0) {
      const item = this.#outbox.peek() as { event: ChorusEvent; json: string };
      if (!this.#session.publish(eventTopic(org, item.event, INGEST_TOPIC_ROOT), item.json)) return;
      this.#outbox.shift();
    }
  }

  #emit(status: RealtimeStatus, error?: unknown): void {
    for (const listener of this.#listeners) {
      try {
        listener(status, error === undefined ? {} : { error });
      } catch {
        // a status listener must not break reconnection
      }
    }
  }
}

/** Validate subscription fields with the protocol's name rules; the field is named on failure. */
function checkFields(s: Schemas, fields: SubscribeFields): SubscribeFields {
  if (typeof fields !== "object" || fields === null)
    throw invalidArgument("fields", "must be an object");
  const out: SubscribeFields = {};
  for (const key of ["env", "channel", "app", "agent"] as const) {
    const value = fields[key];
    if (value !== undefined) out[key] = parseOrThrow(s.nameSchema, value, key);
  }
  if (fields.type !== undefined) out.type = parseOrThrow(s.typeSchema, fields.type, "type");
  const unknown = Object.keys(fields).filter(
    (k) => !["env", "channel", "app", "agent", "type"].includes(k),
  );
  if (unknown.length > 0)
    throw invalidArgument(unknown[0] as string, "is not a subscription field");
  return out;
}
