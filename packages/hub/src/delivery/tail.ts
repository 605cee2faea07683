import type { HubLogger } from "../config.js";
import type { HubMetrics } from "../metrics.js";
import type { Store } from "../store/types.js";
import type { CommitSignal } from "./commit-signal.js";
import type { Flusher } from "./flusher.js";
import { Frame } from "./frame.js";
import { RecentFrames } from "./recent-frames.js";

/** Events per tail read: a whole HTTP batch (1,000 events) in one read. */
const TAIL_PAGE_EVENTS = 1_000;
/** Bytes per tail read: one maximal HTTP batch (4 MiB), so a burst of large events is read in slices. */
const TAIL_PAGE_BYTES = 4 * 1024 * 1024;
/** Wait before reading again after a failed read, or when a signalled seq is not readable yet. */
const TAIL_RETRY_MS = 25;
/**
 * Reads to try for a signalled seq that the store does not return yet (a shared store still
 * finishing an earlier seq) before waiting for the next signal: about a second.
 */
const TAIL_MAX_RETRIES = 40;

/** Receives every committed event once, in seq order, synchronously within one batch. */
export interface DeliverySink {
  offer(frame: Frame): void;
}

export interface TailDeps {
  store: Store;
  commits: CommitSignal;
  flusher: Flusher;
  metrics: HubMetrics;
  logger: HubLogger;
  /** Bytes of recently delivered frames kept for readers that resume (see {@link RecentFrames}). */
  recentBytes: number;
}

/**
 * The hub's one reader of new events. On each commit signal it reads what was committed after
 * its cursor (every org at once), wraps each event in a {@link Frame} (serialized once), hands
 * the frames to the sinks (the SSE index and the MQTT fan-out), and flushes every connection
 * that received something in one write each. The cursor and the hand-off move together inside
 * one synchronous step, which is what lets a replaying connection join without a gap.
 */
export class DeliveryTail {
  readonly #deps: TailDeps;
  readonly #sinks = new Set<DeliverySink>();
  #cursor = 0;
  /** Highest seq a signal announced; the tail reads until its cursor reaches it. */
  #target = 0;
  #reading = false;
  #retries = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;
  #closed = false;
  #recent: RecentFrames;

  constructor(deps: TailDeps) {
    this.#deps = deps;
    this.#recent = new RecentFrames(deps.recentBytes, 0);
  }

  /** What the tail delivered last, for readers resuming close behind it. */
  get recent(): RecentFrames {
    return this.#recent;
  }

  /** Start after the newest committed event: what is older is replay, read by each reader. */
  async start(): Promise<void> {
    this.#cursor = await this.#deps.store.maxSeq();
    this.#target = this.#cursor;
    this.#recent = new RecentFrames(this.#deps.recentBytes, this.#cursor);
    this.#deps.metrics.tailCursor.set(this.#cursor);
    this.#unsubscribe = this.#deps.commits.subscribe((seq) => this.wake(seq));
  }

  /** The last seq handed to the sinks. Every event at or below it has been delivered or skipped. */
  get cursor(): number {
    return this.#cursor;
  }

  /**
   * The newest seq this hub knows is committed: its own writes count at once, before the tail
   * has read them (on Postgres that read lags the commit), so a stream that starts "now" after a
   * write of this hub does not begin before it.
   */
  get newest(): number {
    return Math.max(this.#cursor, this.#target);
  }

  addSink(sink: DeliverySink): () => void {
    this.#sinks.add(sink);
    return () => this.#sinks.delete(sink);
  }

  wake(seq: number): void {
    if (this.#closed) return;
    if (seq > this.#target) {
      this.#target = seq;
      this.#retries = 0;
    }
    if (!this.#reading && this.#retryTimer === undefined && this.#target > this.#cursor) {
      void this.#run();
    }
  }

  close(): void {
    this.#closed = true;
    this.#unsubscribe?.();
    clearTimeout(this.#retryTimer);
  }

  async #run(): Promise<void> {
    this.#reading = true;
    try {
      let more = true;
      while (!this.#closed && (more || this.#target > this.#cursor)) {
        const page = await this.#deps.store.readAfter(this.#cursor, {
          maxEvents: TAIL_PAGE_EVENTS,
          maxBytes: TAIL_PAGE_BYTES,
        });
        if (this.#closed) return;
        if (page.data.length === 0) {
          // Signalled but not readable yet (a shared store finishing an earlier seq): try again
          // shortly, for a while; after that the next signal wakes the tail.
          if (this.#target > this.#cursor) this.#retryLater(false);
          return;
        }
        this.#deliver(
          page.data.map(
            ({ org, event, bytes, payload, metadata }) =>
              new Frame(org, event, bytes, { payload, metadata }),
          ),
        );
        more = page.more;
        // Let the sockets take this page before the next one (SQLite answers without leaving
        // the microtask queue): what the hub holds for a connection stays within one page.
        if (more || this.#target > this.#cursor)
          await new Promise((resolve) => setImmediate(resolve));
      }
    } catch (error) {
      this.#deps.logger.error("delivery tail read failed", { error: String(error) });
      this.#retryLater(true);
    } finally {
      this.#reading = false;
    }
  }

  #deliver(frames: Frame[]): void {
    const last = frames.at(-1) as Frame;
    this.#cursor = last.seq;
    if (this.#cursor > this.#target) this.#target = this.#cursor;
    this.#retries = 0;
    this.#recent.add(frames);
    for (const frame of frames) {
      for (const sink of this.#sinks) {
        try {
          sink.offer(frame);
        } catch (error) {
          this.#deps.logger.error("delivery sink failed", { error: String(error) });
        }
      }
    }
    this.#deps.flusher.flush();
    const { metrics } = this.#deps;
    metrics.tailCursor.set(this.#cursor);
    metrics.tailLag.observe(Math.max(0, Date.now() - Date.parse(last.event.receivedAt)) / 1000);
  }

  #retryLater(failed: boolean): void {
    if (!failed && ++this.#retries > TAIL_MAX_RETRIES) {
      this.#target = this.#cursor;
      return;
    }
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (!this.#closed && !this.#reading) void this.#run();
    }, TAIL_RETRY_MS);
    this.#retryTimer.unref();
  }
}
