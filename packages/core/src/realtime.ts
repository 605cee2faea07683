import {
  type ChorusEvent,
  eventTopic,
  INGEST_TOPIC_ROOT,
  nameSchema,
  type RealtimeCredentials,
  subscriptionFilter,
  type TopicFields,
  typeSchema,
} from "@chorus/protocol";
import type { MqttClient } from "mqtt";
import { AsyncChannel } from "./async-channel.js";
import { type BackoffPolicy, backoffDelay } from "./backoff.js";
import { AuthenticationError, ConnectionError, ValidationError } from "./errors.js";
import type { BuildResult, EmitEvent } from "./event-builder.js";
import { asConnectionError } from "./fail-open.js";
import type { Diagnostics } from "./logger.js";
import { fetchCredentials, openClient, orgOf } from "./realtime-connection.js";
import { type RealtimeCallback, SubscriptionRegistry } from "./realtime-dispatch.js";
import { RingBuffer } from "./ring-buffer.js";
import type { Transport } from "./transport.js";
import { invalidArgument, parseOrThrow } from "./validate.js";

export type { RealtimeCallback } from "./realtime-dispatch.js";

export type RealtimeStatus =
  | "connected"
  | "disconnected"
  | "reconnecting"
  | "reconnected"
  | "auth_failed";
export type RealtimeStatusListener = (status: RealtimeStatus, detail: { error?: unknown }) => void;

/** Fields of a subscription; each one left out matches anything at its level. */
export type SubscribeFields = TopicFields;

export interface RealtimeDeps {
  transport: Transport;
  diagnostics: Diagnostics;
  build: (input: unknown) => BuildResult;
  config: {
    transport: "tcp" | "ws";
    timeoutMs: number;
    ttlSeconds: number | undefined;
    maxBuffered: number;
  };
}

/** Reconnect delays: a quick first retry for a blip, then up to 30 s apart while the broker is away. */
const RECONNECT_BACKOFF: BackoffPolicy = { baseMs: 200, maxMs: 30_000 };
/** Refresh credentials when this fraction of their lifetime is left: time to connect and swap. */
const REFRESH_AT_REMAINING = 0.25;
/** Events a realtime iterator holds for a slow reader before dropping the oldest. */
export const DEFAULT_ITERATOR_BUFFER = 1000;

interface Connection {
  client: MqttClient;
  creds: RealtimeCredentials;
  /** Filters this connection's broker session holds. */
  filters: Set<string>;
}

interface BufferedPublish {
  event: ChorusEvent | Record<string, unknown>;
  json: string;
}

/** An iterator over realtime events; `close()` unsubscribes. */
export interface RealtimeSubscription extends AsyncIterable<ChorusEvent> {
  readonly filter: string;
  close(): Promise<void>;
}

/**
 * Realtime over MQTT: `chorus.realtime`.
 *
 * `connect()` fetches short-lived credentials and connects (TCP or WebSocket). After that the
 * client keeps itself connected: it reconnects with backoff after a drop and restores every
 * subscription, and swaps to fresh credentials before the old ones expire (the new connection
 * subscribes before the old one closes, so no message is lost; copies are dropped by event id).
 *
 * @example
 * await chorus.realtime.connect();
 * const filter = await chorus.realtime.subscribe({ channel: "research" }, (event) => {
 *   console.log(event.type, event.payload);
 * });
 * await chorus.realtime.unsubscribe(filter);
 */
export class Realtime {
  readonly #deps: RealtimeDeps;
  readonly #registry: SubscriptionRegistry;
  readonly #listeners = new Set<RealtimeStatusListener>();
  readonly #buffer = new RingBuffer<BufferedPublish>();
  readonly #iterators = new Set<RealtimeSubscription>();
  #conn: Connection | undefined;
  #org: string | undefined;
  #connecting: Promise<void> | undefined;
  #reconnecting = false;
  #attempt = 0;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #refreshTimer: NodeJS.Timeout | undefined;
  #closed = false;
  #droppedPublishes = 0;

  constructor(deps: RealtimeDeps) {
    this.#deps = deps;
    this.#registry = new SubscriptionRegistry(deps.diagnostics);
  }

  /** Whether a broker connection is up right now. */
  get connected(): boolean {
    return this.#conn?.client.connected === true;
  }

  /** Publishes dropped because the disconnected buffer was full. */
  get droppedPublishes(): number {
    return this.#droppedPublishes;
  }

  /** Listen to `connected`, `disconnected`, `reconnecting`, `reconnected`, `auth_failed`. Returns an unsubscribe function. */
  onStatus(listener: RealtimeStatusListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Connect (idempotent). Rejects with {@link ConnectionError} when the hub or the broker
   * refuses (`reason: "auth_failed"` for bad credentials, after an `auth_failed` status).
   */
  connect(): Promise<void> {
    if (this.#closed)
      return Promise.reject(new ConnectionError("realtime is closed", { reason: "closed" }));
    if (this.#conn) return Promise.resolve();
    this.#connecting ??= this.#connectFirst().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  /**
   * Subscribe; connects first when needed. Resolves with the topic filter once the broker has
   * confirmed it. The callback receives only messages matching this filter; it may be async,
   * and if it throws the error is logged and delivery goes on.
   */
  async subscribe(fields: SubscribeFields, callback: RealtimeCallback): Promise<string> {
    if (typeof callback !== "function") throw invalidArgument("callback", "must be a function");
    const checked = checkFields(fields);
    await this.connect();
    const filter = subscriptionFilter(this.#org as string, checked);
    if (this.#registry.add(filter, callback) && this.#conn)
      await this.#subscribeOn(this.#conn, [filter]);
    this.#refTimers();
    return filter;
  }

  /** Drop the subscription with this filter (only the given callback's, when one is passed). */
  async unsubscribe(filter: string, callback?: RealtimeCallback): Promise<void> {
    const unused = this.#registry.remove(filter, callback);
    this.#refTimers();
    const conn = this.#conn;
    if (!unused || !conn?.filters.has(filter)) return;
    conn.filters.delete(filter);
    if (conn.client.connected) {
      await conn.client.unsubscribeAsync(filter).catch((error: unknown) => {
        this.#deps.diagnostics.debug("realtime unsubscribe failed", {
          filter,
          error: String(error),
        });
      });
    }
  }

  /**
   * Publish an event over MQTT (to `chorus-in/{org}/...`; the hub validates, stores and
   * republishes it). `app` (or the client's default app) and `type` are required. Stamped like
   * `emit()`. While disconnected, publishes wait in a bounded buffer (oldest dropped first) and
   * go out on reconnect. Throws only {@link ValidationError}.
   */
  async publish(event: EmitEvent): Promise<void> {
    if (typeof event !== "object" || event === null)
      throw invalidArgument("event", "must be an object");
    if (event.type === undefined) throw invalidArgument("type", "is required");
    const built = this.#deps.build(event);
    if (!built.ok) throw built.error;
    if (built.value.event.app === undefined)
      throw invalidArgument("app", "is required for realtime publish");
    this.#bufferPublish({ event: built.value.event, json: built.value.json });
    if (!this.#conn && !this.#connecting && !this.#reconnecting && !this.#closed) {
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
    this.#flushPublishes();
  }

  /**
   * The async-iterator form of {@link subscribe}. A reader that falls more than `maxBuffered`
   * events behind loses the oldest.
   *
   * @example
   * const sub = await chorus.realtime.events({ channel: "research" });
   * for await (const event of sub) if (event.type === "agent.end") await sub.close();
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
          "realtime iterator reader is slow; dropped the oldest",
          { dropped },
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
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#reconnectTimer);
    clearTimeout(this.#refreshTimer);
    for (const iterator of [...this.#iterators]) await iterator.close();
    this.#registry.clear();
    const conn = this.#conn;
    this.#conn = undefined;
    if (conn) await conn.client.endAsync().catch(() => {});
  }

  async #connectFirst(): Promise<void> {
    try {
      const conn = await this.#establish(undefined);
      this.#adopt(conn);
      this.#emit("connected");
    } catch (error) {
      throw this.#connectFailure(error);
    }
  }

  /**
   * Credentials (reused while fresh, refetched when the broker refuses them: a restarted hub
   * may sign with a new secret), then a connected client with every registered subscription.
   */
  async #establish(previous: RealtimeCredentials | undefined): Promise<Connection> {
    let creds = previous && expiresIn(previous) > 2000 ? previous : await this.#credentials();
    let client: MqttClient;
    try {
      client = await openClient(creds, this.#openOptions());
    } catch (error) {
      // Reused credentials refused: a restarted hub may sign with a new secret. Fetch fresh ones once.
      const reusedRefused =
        error instanceof ConnectionError && error.reason === "auth_failed" && creds === previous;
      if (!reusedRefused) throw error;
      creds = await this.#credentials();
      client = await openClient(creds, this.#openOptions());
    }
    const conn: Connection = { client, creds, filters: new Set() };
    this.#org = orgOf(creds);
    try {
      await this.#subscribeOn(conn, this.#registry.filters);
    } catch (error) {
      client.end(true);
      throw error;
    }
    return conn;
  }

  async #credentials(): Promise<RealtimeCredentials> {
    try {
      return await fetchCredentials(this.#deps.transport, this.#deps.config.ttlSeconds);
    } catch (error) {
      if (error instanceof AuthenticationError) {
        throw new ConnectionError(`realtime credentials refused: ${error.message}`, {
          reason: "auth_failed",
          cause: error,
          status: 401,
        });
      }
      throw asConnectionError(error);
    }
  }

  #openOptions() {
    return { transport: this.#deps.config.transport, timeoutMs: this.#deps.config.timeoutMs };
  }

  /** Subscribe `filters` on one connection, then anything registered meanwhile (until stable). */
  async #subscribeOn(conn: Connection, filters: readonly string[]): Promise<void> {
    let todo = filters.filter((f) => !conn.filters.has(f));
    while (todo.length > 0) {
      const granted = await conn.client.subscribeAsync(todo, { qos: 0 });
      for (const grant of granted) {
        if (grant.qos === 128) {
          this.#registry.remove(grant.topic);
          throw new ValidationError(`the broker refused the subscription ${grant.topic}`, {
            field: "filter",
          });
        }
        conn.filters.add(grant.topic);
      }
      todo = this.#registry.filters.filter((f) => !conn.filters.has(f));
    }
  }

  /** Make `conn` the live connection: route its messages, watch it, schedule its refresh. */
  #adopt(conn: Connection): void {
    const previous = this.#conn;
    this.#conn = conn;
    this.#attempt = 0;
    conn.client.on("message", (topic, payload) => this.#registry.dispatch(topic, payload));
    conn.client.on("close", () => {
      if (this.#conn === conn) this.#onDrop();
    });
    conn.client.on("error", (error) => {
      this.#deps.diagnostics.debug("realtime connection error", { error: error.message });
    });
    this.#scheduleRefresh(conn.creds);
    this.#flushPublishes();
    // The old connection goes only after the new one holds every subscription: nothing is missed.
    if (previous && previous !== conn) previous.client.end(false);
  }

  #onDrop(): void {
    if (this.#closed) return;
    const conn = this.#conn;
    this.#conn = undefined;
    clearTimeout(this.#refreshTimer);
    conn?.client.removeAllListeners("message");
    conn?.client.end(true);
    this.#emit("disconnected");
    this.#reconnecting = true;
    this.#scheduleReconnect(conn?.creds);
  }

  #scheduleReconnect(previous: RealtimeCredentials | undefined): void {
    if (this.#closed) return;
    const delay = backoffDelay(this.#attempt++, RECONNECT_BACKOFF);
    this.#reconnectTimer = setTimeout(() => void this.#reconnect(previous), delay);
    this.#refTimers();
  }

  async #reconnect(previous: RealtimeCredentials | undefined): Promise<void> {
    if (this.#closed) return;
    this.#emit("reconnecting");
    try {
      const conn = await this.#establish(previous);
      if (this.#closed) {
        conn.client.end(true);
        return;
      }
      this.#reconnecting = false;
      this.#adopt(conn);
      this.#emit("reconnected");
    } catch (error) {
      if (error instanceof ConnectionError && error.reason === "auth_failed") {
        // The key itself is refused: retrying would not help. Say so and stop.
        this.#reconnecting = false;
        this.#emit("auth_failed", error);
        this.#deps.diagnostics.report(error, { operation: "realtime.reconnect" });
        this.#deps.diagnostics.warn("realtime credentials refused; not reconnecting", {
          error: error.message,
        });
        return;
      }
      this.#deps.diagnostics.warnRateLimited(
        "realtime_reconnect",
        "realtime reconnect failed; retrying",
        {
          error: error instanceof Error ? error.message : String(error),
        },
      );
      this.#scheduleReconnect(previous);
    }
  }

  #scheduleRefresh(creds: RealtimeCredentials): void {
    clearTimeout(this.#refreshTimer);
    const remaining = expiresIn(creds);
    if (!Number.isFinite(remaining)) return;
    const delay = Math.max(0, remaining - Math.max(1000, remaining * REFRESH_AT_REMAINING));
    this.#refreshTimer = setTimeout(() => void this.#refresh(creds, 0), delay);
    this.#refTimers();
  }

  /** Connect with fresh credentials next to the live connection, then swap. */
  async #refresh(current: RealtimeCredentials, attempt: number): Promise<void> {
    if (this.#closed || this.#conn?.creds !== current) return;
    try {
      const conn = await this.#establish(undefined);
      if (this.#closed || this.#conn?.creds !== current) {
        conn.client.end(true);
        return;
      }
      this.#adopt(conn);
    } catch (error) {
      this.#deps.diagnostics.warnRateLimited(
        "realtime_refresh",
        "realtime credential refresh failed; retrying",
        {
          error: error instanceof Error ? error.message : String(error),
        },
      );
      const delay = Math.min(
        backoffDelay(attempt, RECONNECT_BACKOFF),
        Math.max(500, expiresIn(current) / 2),
      );
      this.#refreshTimer = setTimeout(() => void this.#refresh(current, attempt + 1), delay);
      this.#refTimers();
    }
  }

  #connectFailure(error: unknown): ConnectionError {
    const failure = asConnectionError(error);
    if (failure.reason === "auth_failed") this.#emit("auth_failed", failure);
    return failure;
  }

  #bufferPublish(item: BufferedPublish): void {
    this.#buffer.push(item);
    while (this.#buffer.length > this.#deps.config.maxBuffered) {
      this.#buffer.shift();
      this.#droppedPublishes++;
      this.#deps.diagnostics.warnRateLimited(
        "realtime_buffer_full",
        "realtime publish buffer full; dropped the oldest",
        {
          dropped: this.#droppedPublishes,
        },
      );
    }
  }

  #flushPublishes(): void {
    const conn = this.#conn;
    if (!conn?.client.connected || this.#org === undefined) return;
    while (this.#buffer.length > 0) {
      const item = this.#buffer.shift() as BufferedPublish;
      const topic = eventTopic(this.#org, item.event as ChorusEvent, INGEST_TOPIC_ROOT);
      conn.client.publish(topic, item.json, { qos: 1 }, (error) => {
        if (error)
          this.#deps.diagnostics.debug("realtime publish failed", { topic, error: error.message });
      });
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

  /** Timers keep the process alive only while someone is subscribed (a listener is waiting). */
  #refTimers(): void {
    const keepAlive = this.#registry.size > 0;
    for (const timer of [this.#reconnectTimer, this.#refreshTimer]) {
      if (!timer) continue;
      if (keepAlive) timer.ref();
      else timer.unref();
    }
  }
}

function expiresIn(creds: RealtimeCredentials): number {
  const at = Date.parse(creds.expiresAt);
  return Number.isNaN(at) ? Number.POSITIVE_INFINITY : at - Date.now();
}

/** Validate subscription fields with the protocol's name rules; the field is named on failure. */
function checkFields(fields: SubscribeFields): SubscribeFields {
  if (typeof fields !== "object" || fields === null)
    throw invalidArgument("fields", "must be an object");
  const out: SubscribeFields = {};
  for (const key of ["env", "channel", "app", "agent"] as const) {
    const value = fields[key];
    if (value !== undefined) out[key] = parseOrThrow(nameSchema, value, key);
  }
  if (fields.type !== undefined) out.type = parseOrThrow(typeSchema, fields.type, "type");
  const unknown = Object.keys(fields).filter(
    (k) => !["env", "channel", "app", "agent", "type"].includes(k),
  );
  if (unknown.length > 0)
    throw invalidArgument(unknown[0] as string, "is not a subscription field");
  return out;
}
