import type { RealtimeCredentials } from "@chorus/protocol";
import type { MqttClient } from "mqtt";
import { type BackoffPolicy, backoffDelay } from "./backoff.js";
import { AuthenticationError, ConnectionError, ValidationError } from "./errors.js";
import { asConnectionError } from "./fail-open.js";
import type { Diagnostics } from "./logger.js";
import { expiresIn, fetchCredentials, openClient, orgOf } from "./realtime-connection.js";
import type { Transport } from "./transport.js";
import { holdHost, type Timer } from "./platform.js";

export type RealtimeStatus =
  | "connected"
  | "disconnected"
  | "reconnecting"
  | "reconnected"
  | "auth_failed";

/** Reconnect delays: a quick first retry for a blip, then up to 30 s apart while the broker is away. */
const RECONNECT_BACKOFF: BackoffPolicy = { baseMs: 200, maxMs: 30_000 };
/** Refresh credentials when this fraction of their lifetime is left: time to connect and swap. */
const REFRESH_AT_REMAINING = 0.25;
/** Reused credentials this close to expiry are replaced before connecting. */
const MIN_REMAINING_MS = 2000;

export interface SessionConfig {
  transport: "tcp" | "ws";
  timeoutMs: number;
  ttlSeconds: number | undefined;
}

/** What the session needs from the realtime client around it. */
export interface SessionHooks {
  /** Every filter that must be subscribed on a (new) connection. */
  filters(): readonly string[];
  /** The broker refused a filter (SUBACK 0x80): forget it. */
  refused(filter: string): void;
  message(topic: string, payload: Uint8Array): void;
  /** A connection became the live one (flush buffered publishes). */
  live(): void;
  status(status: RealtimeStatus, error?: unknown): void;
  /** Whether anyone is listening: then reconnect timers keep the process alive. */
  listening(): boolean;
}

interface Connection {
  client: MqttClient;
  creds: RealtimeCredentials;
  /** Filters this connection's broker session holds. */
  filters: Set<string>;
}

/**
 * The broker connection of one realtime client, kept alive: reconnect with backoff after a drop
 * (restoring every subscription before reporting `reconnected`), and a swap to fresh credentials
 * before the old ones expire: the new connection subscribes everything before the old one is
 * closed, so no message falls in between (copies are dropped by event id downstream).
 */
export class RealtimeSession {
  readonly #transport: Transport;
  readonly #diagnostics: Diagnostics;
  readonly #config: SessionConfig;
  readonly #hooks: SessionHooks;
  #conn: Connection | undefined;
  #org: string | undefined;
  #connecting: Promise<void> | undefined;
  #reconnecting = false;
  #attempt = 0;
  #reconnectTimer: Timer | undefined;
  #refreshTimer: Timer | undefined;
  #closed = false;

  constructor(
    deps: { transport: Transport; diagnostics: Diagnostics; config: SessionConfig },
    hooks: SessionHooks,
  ) {
    this.#transport = deps.transport;
    this.#diagnostics = deps.diagnostics;
    this.#config = deps.config;
    this.#hooks = hooks;
  }

  /** The org of the credentials, known after the first connection. */
  get org(): string | undefined {
    return this.#org;
  }

  get connected(): boolean {
    return this.#conn?.client.connected === true;
  }

  /** Connecting, or waiting to reconnect. */
  get pending(): boolean {
    return this.#connecting !== undefined || this.#reconnecting;
  }

  connect(): Promise<void> {
    if (this.#closed)
      return Promise.reject(new ConnectionError("realtime is closed", { reason: "closed" }));
    // Once connected, the session keeps itself connected: while it reconnects there is nothing to wait for.
    if (this.#conn || this.#reconnecting) return Promise.resolve();
    this.#connecting ??= this.#connectFirst().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  /** Subscribe on the live connection (new connections subscribe from the hooks themselves). */
  async subscribe(filters: readonly string[]): Promise<void> {
    if (this.#conn) await this.#subscribeOn(this.#conn, filters);
  }

  async unsubscribe(filter: string): Promise<void> {
    const conn = this.#conn;
    if (!conn?.filters.has(filter)) return;
    conn.filters.delete(filter);
    if (!conn.client.connected) return;
    await conn.client.unsubscribeAsync(filter).catch((error: unknown) => {
      this.#diagnostics.debug("realtime unsubscribe failed", { filter, error: String(error) });
    });
  }

  /** Publish on the live connection; `false` when there is none (the caller buffers). */
  publish(topic: string, json: string): boolean {
    const client = this.#conn?.client;
    if (!client?.connected) return false;
    client.publish(topic, json, { qos: 1 }, (error) => {
      if (error)
        this.#diagnostics.debug("realtime publish failed", { topic, error: error.message });
    });
    return true;
  }

  /** Timers keep the process alive only while someone is listening. */
  refTimers(): void {
    const keepAlive = this.#hooks.listening();
    for (const timer of [this.#reconnectTimer, this.#refreshTimer]) {
      if (!timer) continue;
      holdHost(timer, keepAlive);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#reconnectTimer);
    clearTimeout(this.#refreshTimer);
    const conn = this.#conn;
    this.#conn = undefined;
    if (conn) await conn.client.endAsync().catch(() => {});
  }

  async #connectFirst(): Promise<void> {
    try {
      this.#adopt(await this.#establish(undefined));
      this.#hooks.status("connected");
    } catch (error) {
      const failure = asConnectionError(error);
      if (failure.reason === "auth_failed") this.#hooks.status("auth_failed", failure);
      throw error instanceof ValidationError ? error : failure;
    }
  }

  /**
   * Credentials (reused while fresh, refetched when the broker refuses them: a restarted hub
   * may sign with a new secret), then a connected client holding every subscription.
   */
  async #establish(previous: RealtimeCredentials | undefined): Promise<Connection> {
    let creds =
      previous && expiresIn(previous) > MIN_REMAINING_MS ? previous : await this.#credentials();
    let client: MqttClient;
    try {
      client = await openClient(creds, this.#config);
    } catch (error) {
      const reusedRefused =
        error instanceof ConnectionError && error.reason === "auth_failed" && creds === previous;
      if (!reusedRefused) throw error;
      creds = await this.#credentials();
      client = await openClient(creds, this.#config);
    }
    const conn: Connection = { client, creds, filters: new Set() };
    this.#org = orgOf(creds);
    try {
      await this.#subscribeOn(conn, this.#hooks.filters());
    } catch (error) {
      client.end(true);
      throw error;
    }
    return conn;
  }

  async #credentials(): Promise<RealtimeCredentials> {
    try {
      return await fetchCredentials(this.#transport, this.#config.ttlSeconds);
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

  /** Subscribe `filters` on one connection, then anything registered meanwhile (until stable). */
  async #subscribeOn(conn: Connection, filters: readonly string[]): Promise<void> {
    let todo = filters.filter((f) => !conn.filters.has(f));
    while (todo.length > 0) {
      const granted = await conn.client.subscribeAsync(todo, { qos: 0 });
      for (const grant of granted) {
        if (grant.qos === 128) {
          this.#hooks.refused(grant.topic);
          throw new ValidationError(`the broker refused the subscription ${grant.topic}`, {
            field: "filter",
          });
        }
        conn.filters.add(grant.topic);
      }
      todo = this.#hooks.filters().filter((f) => !conn.filters.has(f));
    }
  }

  /** Make `conn` the live connection: route its messages, watch it, schedule its refresh. */
  #adopt(conn: Connection): void {
    const previous = this.#conn;
    this.#conn = conn;
    this.#attempt = 0;
    conn.client.on("message", (topic, payload) => this.#hooks.message(topic, payload));
    conn.client.on("close", () => {
      if (this.#conn === conn) this.#onDrop();
    });
    conn.client.on("error", (error) => {
      this.#diagnostics.debug("realtime connection error", { error: error.message });
    });
    this.#scheduleRefresh(conn.creds);
    this.#hooks.live();
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
    this.#reconnecting = true;
    this.#hooks.status("disconnected");
    this.#scheduleReconnect(conn?.creds);
  }

  #scheduleReconnect(previous: RealtimeCredentials | undefined): void {
    if (this.#closed) return;
    const delay = backoffDelay(this.#attempt++, RECONNECT_BACKOFF);
    this.#reconnectTimer = setTimeout(() => void this.#reconnect(previous), delay);
    this.refTimers();
  }

  async #reconnect(previous: RealtimeCredentials | undefined): Promise<void> {
    if (this.#closed) return;
    this.#hooks.status("reconnecting");
    try {
      const conn = await this.#establish(previous);
      if (this.#closed) {
        conn.client.end(true);
        return;
      }
      this.#reconnecting = false;
      this.#adopt(conn);
      this.#hooks.status("reconnected");
    } catch (error) {
      if (error instanceof ConnectionError && error.reason === "auth_failed") {
        // The key itself is refused: retrying would not help. Say so and stop.
        this.#reconnecting = false;
        this.#hooks.status("auth_failed", error);
        this.#diagnostics.report(error, { operation: "realtime.reconnect" });
        this.#diagnostics.warn("realtime credentials refused; not reconnecting", {
          error: error.message,
        });
        return;
      }
      this.#diagnostics.warnRateLimited(
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
    this.refTimers();
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
      this.#diagnostics.warnRateLimited(
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
      this.refTimers();
    }
  }
}
