import type { ChorusEvent, TopicFields } from "@chorus/protocol";
import { ConnectionError } from "./errors.js";
import type { BuildResult, EmitEvent } from "./event-builder.js";
import type { Diagnostics } from "./logger.js";
import { loadRealtimeClient } from "./platform.js";
import type { RealtimeClient } from "./realtime-client.js";
import type { RealtimeCallback } from "./realtime-dispatch.js";
import type { RealtimeStatus } from "./realtime-session.js";
import type { Transport } from "./transport.js";

export type { RealtimeCallback } from "./realtime-dispatch.js";
export type { RealtimeStatus } from "./realtime-session.js";
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
 * subscription, and swaps to fresh credentials before the old ones expire without losing a
 * message. Status changes (`connected`, `disconnected`, `reconnecting`, `reconnected`,
 * `auth_failed`) go to {@link onStatus} listeners.
 *
 * The machinery (MQTT session, dispatch, mqtt.js) is loaded on first use: every call that needs
 * it is async already, so a page that never uses realtime never downloads it.
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
  readonly #listeners = new Set<RealtimeStatusListener>();
  #client: RealtimeClient | undefined;
  #loading: Promise<RealtimeClient> | undefined;

  constructor(deps: RealtimeDeps) {
    this.#deps = deps;
  }

  /** Whether a broker connection is up right now. */
  get connected(): boolean {
    return this.#client?.connected ?? false;
  }

  /** Publishes dropped because the disconnected buffer was full. */
  get droppedPublishes(): number {
    return this.#client?.droppedPublishes ?? 0;
  }

  /** Listen to status changes. Returns an unsubscribe function. */
  onStatus(listener: RealtimeStatusListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Connect (idempotent). Rejects with `ConnectionError` when the hub or the broker refuses
   * (`reason: "auth_failed"` for bad credentials, after an `auth_failed` status).
   */
  async connect(): Promise<void> {
    return (await this.#load()).connect();
  }

  /**
   * Subscribe; connects first when needed. Resolves with the topic filter once the broker has
   * confirmed it (while reconnecting: at once, and the filter is subscribed on reconnect). The
   * callback receives only messages matching this filter, once each even when another of its
   * subscriptions overlaps; it may be async, and if it throws the error is logged and delivery
   * goes on.
   */
  async subscribe(fields: SubscribeFields, callback: RealtimeCallback): Promise<string> {
    return (await this.#load()).subscribe(fields, callback);
  }

  /** Drop the subscription with this filter (only the given callback's, when one is passed). */
  async unsubscribe(filter: string, callback?: RealtimeCallback): Promise<void> {
    const client = await this.#loaded();
    await client?.unsubscribe(filter, callback);
  }

  /**
   * Publish an event over MQTT (to `chorus-in/{org}/...`; the hub validates, stores and
   * republishes it). `app` (or the client's default app) and `type` are required. Stamped like
   * `emit()`. While disconnected, publishes wait in a bounded buffer (oldest dropped first) and
   * go out on reconnect. Rejects only with `ValidationError` (in a page, also with
   * `ConnectionError` when realtime's code cannot be downloaded).
   */
  async publish(event: EmitEvent): Promise<void> {
    return (await this.#load()).publish(event);
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
    return (await this.#load()).events(fields, options);
  }

  /** Disconnect and forget every subscription. */
  async close(): Promise<void> {
    const client = await this.#loaded();
    await client?.close();
  }

  /** The client if it is loaded or loading; nothing to do otherwise. */
  async #loaded(): Promise<RealtimeClient | undefined> {
    return this.#client ?? this.#loading?.catch(() => undefined);
  }

  #load(): Promise<RealtimeClient> {
    if (this.#client) return Promise.resolve(this.#client);
    this.#loading ??= loadRealtimeClient().then(
      (RealtimeClient) => {
        this.#client = new RealtimeClient(this.#deps, this.#listeners);
        return this.#client;
      },
      (error: unknown) => {
        this.#loading = undefined; // a failed download is tried again on the next call
        throw new ConnectionError("could not load realtime", { reason: "refused", cause: error });
      },
    );
    return this.#loading;
  }
}
