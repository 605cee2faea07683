import pg from "pg";
import type { HubLogger } from "../config.js";
import { COMMIT_CHANNEL } from "../store/pg-events.js";
import { PRESENCE_CHANNEL } from "../store/pg-presence.js";
import type { CommitSignal } from "./commit-signal.js";

/** First and longest wait before reconnecting the listening connection. */
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5_000;
/**
 * Notifications from other hubs arriving within this window wake the tail once, for the newest
 * seq: at a thousand small commits a second each hub would otherwise run a read per commit, and
 * so would Postgres, per hub. A few milliseconds of latency across hubs buy reads of several
 * commits at a time; this hub's own commits still wake the tail at once.
 */
export const NOTIFY_COALESCE_MS = 4;
/**
 * The listening connection is asked a `SELECT 1` this often, and counts as lost when no answer
 * comes within {@link HEARTBEAT_TIMEOUT_MS}. A connection only listening never sends anything,
 * so one whose server froze or was cut off without a reset would otherwise look alive for as
 * long as TCP takes to notice (hours, idle): no notification would arrive, and SSE readers on
 * this hub would stop seeing what other hubs store.
 */
export const HEARTBEAT_MS = 10_000;
const HEARTBEAT_TIMEOUT_MS = 5_000;

/**
 * Commits of every hub on one Postgres database. Each write `NOTIFY`s "seq N committed" in its
 * own transaction (see `pg-events.ts`); here one dedicated connection per hub `LISTEN`s and wakes
 * the delivery tail. This hub's own commits are also announced at once, without the round trip.
 *
 * A notification sent while the listening connection is down is lost, so after every
 * (re)connect the signal announces the store's current maximum seq: the tail then reads
 * whatever it missed. Nothing is lost, only delayed by the outage.
 */
export class PgCommitSignal implements CommitSignal {
  readonly #url: string;
  readonly #maxSeq: () => Promise<number>;
  readonly #logger: HubLogger;
  readonly #listeners = new Set<(seq: number) => void>();
  readonly #presenceListeners = new Set<(org: string) => void>();
  #client: pg.Client | undefined;
  #timer: NodeJS.Timeout | undefined;
  #delay = RECONNECT_MIN_MS;
  #closed = false;
  /** Newest seq notified and not yet announced, while the coalescing window is open. */
  #pending = 0;
  #coalesce: NodeJS.Timeout | undefined;
  /** Connections made so far (the first is the start, the rest are reconnects). */
  connects = 0;

  constructor(url: string, maxSeq: () => Promise<number>, logger: HubLogger) {
    this.#url = url;
    this.#maxSeq = maxSeq;
    this.#logger = logger;
  }

  /** Connect and listen; resolves once listening (or throws if the first attempt fails). */
  async start(): Promise<void> {
    await this.#connect();
  }

  committed(seq: number): void {
    this.#emit(seq);
  }

  subscribe(listener: (seq: number) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Presence writes notify `chorus_presence` with their org (see `pg-presence.ts`), on the same
   * listening connection. One lost while it was down is made up by the next presence renewal.
   */
  subscribePresence(listener: (org: string) => void): () => void {
    this.#presenceListeners.add(listener);
    return () => this.#presenceListeners.delete(listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#coalesce);
    this.#listeners.clear();
    this.#presenceListeners.clear();
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {});
  }

  /** For tests: the server process of the listening connection. */
  get backendPid(): number | undefined {
    return (this.#client as { processID?: number } | undefined)?.processID;
  }

  /** For tests: drop the listening connection as a network failure would. */
  dropConnection(): void {
    this.#client?.emit("error", new Error("connection dropped (test)"));
  }

  #emit(seq: number): void {
    for (const listener of this.#listeners) listener(seq);
  }

  #notified(seq: number): void {
    if (seq > this.#pending) this.#pending = seq;
    if (this.#coalesce !== undefined) return;
    this.#coalesce = setTimeout(() => {
      this.#coalesce = undefined;
      this.#emit(this.#pending);
    }, NOTIFY_COALESCE_MS);
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.#url, keepAlive: true });
    let heartbeat: NodeJS.Timeout | undefined;
    const lost = (error?: Error) => {
      clearInterval(heartbeat);
      if (this.#client !== client) return;
      this.#client = undefined;
      client.removeAllListeners("notification");
      void client.end().catch(() => {});
      if (this.#closed) return;
      this.#logger.warn("lost the Postgres LISTEN connection; reconnecting", {
        error: error ? error.message : "ended",
      });
      this.#schedule();
    };
    client.on("error", lost);
    client.on("end", () => lost());
    client.on("notification", (message) => {
      if (message.channel === PRESENCE_CHANNEL) {
        const org = message.payload;
        if (org) for (const listener of this.#presenceListeners) listener(org);
        return;
      }
      const seq = Number(message.payload);
      if (Number.isSafeInteger(seq)) this.#notified(seq);
    });
    await client.connect();
    await client.query(`LISTEN ${COMMIT_CHANNEL}`);
    await client.query(`LISTEN ${PRESENCE_CHANNEL}`);
    if (this.#closed) {
      await client.end().catch(() => {});
      return;
    }
    this.#client = client;
    this.connects++;
    heartbeat = setInterval(() => {
      client
        .query({ text: "SELECT 1", query_timeout: HEARTBEAT_TIMEOUT_MS } as pg.QueryConfig)
        .catch((error: Error) => {
          // The connection is abandoned: end() would wait for the server that does not answer.
          const stream = (client as unknown as { connection?: { stream?: { destroy(): void } } })
            .connection?.stream;
          stream?.destroy();
          lost(new Error(`no answer on the LISTEN connection: ${error.message}`));
        });
    }, HEARTBEAT_MS);
    heartbeat.unref();
    this.#delay = RECONNECT_MIN_MS;
    // Catch up on whatever was committed while nobody listened.
    this.#emit(await this.#maxSeq());
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#connect().catch((error: unknown) => {
        this.#logger.warn("Postgres LISTEN reconnect failed; retrying", {
          error: error instanceof Error ? error.message : String(error),
          retryInMs: this.#delay,
        });
        this.#delay = Math.min(RECONNECT_MAX_MS, this.#delay * 2);
        this.#schedule();
      });
    }, this.#delay);
    this.#timer.unref();
  }
}
