import type { OutgoingHttpHeaders, ServerResponse } from "node:http";
import {
  formatSseComment,
  formatSseMessage,
  formatSseReady,
  retentionGap,
  formatSseRetry,
  SSE_RETRY_MS,
  SSE_SNAPSHOT_EVENT,
} from "@chorus/protocol";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { HubContext } from "../context.js";
import type { Frame } from "../delivery/frame.js";
import type { DropReason, Outbox } from "../delivery/outbox.js";
import { ReplayPages } from "../delivery/replay-pages.js";
import type { EventFilter } from "../store/types.js";
import { HttpError } from "./errors.js";
import { couldMatch } from "./event-match.js";
import { routeLabel } from "./observe.js";

/** Events per replay page. */
const REPLAY_PAGE_EVENTS = 500;
/**
 * Bytes per replay page: what a reader that stopped reading pins besides its socket buffer.
 * A quarter of the send buffer at most, so one page always fits in it.
 */
const REPLAY_PAGE_BYTES = 256 * 1024;
/** Seconds a client refused for too many streams is told to wait before trying again. */
const STREAM_CAP_RETRY_AFTER_S = 5;

/** What one SSE connection streams. */
export interface SseStreamOptions {
  org: string;
  filter: EventFilter;
  /** Replay events with a seq above this; undefined starts at the newest delivered event. */
  after: number | undefined;
  /** The cursor asked for when it was beyond the newest stored seq (`after` is that seq then). */
  ahead?: number;
  pingIntervalMs: number;
  /** `keyId` of the caller: streams are capped per key. */
  keyId: string;
  /**
   * Read the value sent as {@link SSE_SNAPSHOT_EVENT} right after `chorus.ready` (intent
   * streams). It is read once the starting point is fixed, so no event after it is missed.
   */
  snapshot?: () => Promise<unknown>;
  /** Called once the stream is accepted; what it returns is called once when it ends (presence). */
  onOpen?: () => () => void;
}

/**
 * Take over the response and stream matching events until the client leaves, falls a whole
 * send buffer behind, or the hub shuts down. Call after every check that can still answer with
 * an error envelope; a key over its stream cap is answered 429 here, before the stream opens.
 */
export async function streamEvents(
  ctx: HubContext,
  request: FastifyRequest,
  reply: FastifyReply,
  options: SseStreamOptions,
): Promise<void> {
  const { res, release } = openSseResponse(ctx, request, reply, options.keyId);
  const leave = options.onOpen?.();
  const done = leave
    ? () => {
        release();
        leave();
      }
    : release;
  new SseStream(ctx, res, options, request.id, done).start();
}

/**
 * Take over the response as an event stream: within the key's stream cap (a key over it is
 * answered 429 here, before anything is written), head written and flushed. Call `release`
 * once when the stream ends.
 */
export function openSseResponse(
  ctx: HubContext,
  request: FastifyRequest,
  reply: FastifyReply,
  keyId: string,
): { res: ServerResponse; release: () => void } {
  const release = ctx.delivery.streams.acquire(keyId);
  if (!release) {
    reply.header("retry-after", String(STREAM_CAP_RETRY_AFTER_S));
    throw new HttpError(
      "rate_limited",
      `this key already holds ${ctx.delivery.streams.max} open streams; close one before opening another`,
      { limit: ctx.delivery.streams.max },
    );
  }
  reply.hijack();
  const res = reply.raw;
  // The body is delimited by the end of the connection (it closes with the stream anyway), not
  // chunked: events then go to the socket as they are, one write per pass, with no chunk framing
  // around each and no trip through the response's cork-and-uncork.
  res.useChunkedEncodingByDefault = false;
  res.writeHead(200, {
    // What hooks set before the hijack (CORS headers for an allowed origin among them).
    ...(reply.getHeaders() as OutgoingHttpHeaders),
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
    // Once a stream ends, its socket is not worth keeping: closing it lets shutdown finish
    // at once instead of waiting out keep-alive.
    connection: "close",
    "x-request-id": request.id,
  });
  res.flushHeaders();
  ctx.metrics.httpRequests.inc({
    method: request.method,
    route: routeLabel(request),
    status: "200",
  });
  return { res, release };
}

/**
 * Whether the client already left. One that left while its request was still being checked (a
 * store read on the way) closed the response before any "close" listener existed: no event will
 * come, so a stream that does not ask would hold its key's stream-cap slot and the gauges for ever.
 */
export function responseGone(res: ServerResponse): boolean {
  return res.destroyed || res.socket?.destroyed !== false;
}

/** A replay page to write: its bytes (none when nothing matched), last seq, and the next page's start. */
interface StreamPage {
  bytes: Buffer | undefined;
  last: number;
  next: number | undefined;
}

/** Replaying from the store, live from the shared tail, or gone. */
type Phase = "replay" | "live" | "closed";

/**
 * One SSE connection. It starts in replay: pages of matching events read from the store after
 * its cursor, written as the socket accepts them. Meanwhile the shared tail offers it every new
 * event; those are held (bounded) rather than written. When a replay read finds nothing more,
 * the held frames above the cursor are written and the connection goes live: from then on it
 * only receives the tail's frames. No gap, because the connection is in the index before its
 * first read, so anything the tail delivers after that is held, and anything it delivered
 * before is committed and seen by the read. No duplicate, because nothing at or below the
 * cursor is ever written. If the held frames outgrow the send buffer they are discarded and
 * replay reads once more (`epoch`), which re-establishes both facts.
 *
 * Streams whose filter depends on store state (an agent's assignments, a portfolio's intents)
 * never go live: the tail only wakes them, and each wake-up is a store read after the cursor.
 */
class SseStream {
  readonly org: string;
  readonly filter: EventFilter;
  readonly kind = "sse" as const;
  readonly #ctx: HubContext;
  readonly #res: ServerResponse;
  readonly #options: SseStreamOptions;
  readonly #requestId: string;
  readonly #outbox: Outbox;
  /** Whether the filter can be decided from the event alone. */
  readonly #exact: boolean;
  readonly #cleanups: (() => void)[] = [];
  #phase: Phase = "replay";
  #cursor = 0;
  #held: Frame[] = [];
  #heldBytes = 0;
  #epoch = 0;
  /** Whether the gauge currently counts this connection under its phase. */
  #counted = false;
  #pumping = false;
  #dirty = false;
  readonly #onAbort = () => this.close();

  constructor(
    ctx: HubContext,
    res: ServerResponse,
    options: SseStreamOptions,
    requestId: string,
    release: () => void,
  ) {
    this.#ctx = ctx;
    this.#res = res;
    this.#options = options;
    this.org = options.org;
    this.filter = options.filter;
    this.#requestId = requestId;
    this.#exact = options.filter.assignedTo === undefined && options.filter.portfolio === undefined;
    // After the head, the socket itself carries the body (see streamEvents).
    this.#outbox = ctx.delivery.outbox(res.socket ?? res, "sse", (reason) => this.#drop(reason));
    this.#cleanups.push(release);
  }

  get bufferedBytes(): number {
    return this.#outbox.buffered + this.#heldBytes;
  }

  start(): void {
    const ctx = this.#ctx;
    ctx.metrics.sseConnections.inc();
    this.#res.on("close", () => this.close());
    ctx.closing.addEventListener("abort", this.#onAbort, { once: true });
    this.#cleanups.push(
      () => ctx.closing.removeEventListener("abort", this.#onAbort),
      ctx.delivery.sse.add(this),
      ctx.delivery.account(this),
    );
    const pingTimer = setInterval(() => this.#ping(), this.#options.pingIntervalMs);
    pingTimer.unref();
    this.#cleanups.push(() => clearInterval(pingTimer));
    ctx.logger.debug("sse stream opened", {
      requestId: this.#requestId,
      keyId: this.#options.keyId,
    });

    // Without a starting point the stream starts at the newest commit this hub knows of:
    // everything after it will be offered by the tail (which skips what is not above the
    // cursor while it catches up), so an exact stream is live at once.
    const after = this.#options.after;
    this.#cursor = after ?? ctx.delivery.tail.newest;
    this.#outbox.push(
      Buffer.from(
        formatSseRetry(SSE_RETRY_MS) +
          formatSseReady(
            this.#cursor,
            ctx.store.epoch,
            retentionGap(after, ctx.retained.oldest),
            this.#options.ahead,
          ),
      ),
    );
    if (ctx.closing.aborted || responseGone(this.#res)) {
      this.close();
      return;
    }
    const snapshot = this.#options.snapshot;
    if (snapshot) {
      // Replay (from the cursor just fixed) only once the snapshot is written: frames the tail
      // offers meanwhile are held, and written after it.
      this.#setPhase("replay");
      this.#pumping = true;
      snapshot().then(
        (value) => {
          this.#pumping = false;
          if (this.#phase === "closed") return;
          if (value !== undefined) {
            const data = JSON.stringify(value);
            this.#outbox.push(Buffer.from(formatSseMessage({ event: SSE_SNAPSHOT_EVENT, data })));
          }
          this.#schedule();
        },
        (error: unknown) => {
          this.#pumping = false;
          this.#fail(error);
        },
      );
    } else if (after === undefined && this.#exact) this.#setPhase("live");
    else {
      this.#setPhase("replay");
      this.#schedule();
    }
  }

  /** Called by the tail, in seq order, for every event of this org on this stream's key. */
  offer(frame: Frame): void {
    if (this.#phase === "closed" || frame.seq <= this.#cursor) return;
    if (!couldMatch(this.filter, frame.event)) return;
    if (!this.#exact) {
      this.#schedule();
      return;
    }
    if (this.#phase === "live") {
      if (this.#outbox.push(frame.sse)) this.#cursor = frame.seq;
      return;
    }
    // Replaying: hold the frame for the seam, within the same bound as the send buffer.
    if (this.#heldBytes + frame.sse.length > this.#ctx.delivery.limits.sendBufferBytes) {
      this.#held = [];
      this.#heldBytes = 0;
      this.#epoch++;
      return;
    }
    this.#held.push(frame);
    this.#heldBytes += frame.sse.length;
  }

  close(): void {
    if (this.#phase === "closed") return;
    this.#setPhase("closed");
    this.#held = [];
    this.#heldBytes = 0;
    this.#outbox.close();
    for (const cleanup of this.#cleanups) cleanup();
    this.#ctx.metrics.sseConnections.dec();
    if (!this.#res.writableEnded) this.#res.end();
    this.#ctx.logger.debug("sse stream closed", {
      requestId: this.#requestId,
      cursor: this.#cursor,
    });
  }

  /** Moves the connection between phases, keeping the connections-by-kind gauge in step. */
  #setPhase(phase: Phase): void {
    const gauge = this.#ctx.metrics.deliveryConnections;
    if (this.#counted) gauge.dec({ kind: `sse_${this.#phase}` });
    this.#phase = phase;
    this.#counted = phase !== "closed";
    if (this.#counted) gauge.inc({ kind: `sse_${phase}` });
  }

  #schedule(): void {
    if (this.#phase !== "replay") return;
    if (this.#pumping) {
      this.#dirty = true;
      return;
    }
    this.#pumping = true;
    this.#replay().then(
      () => {
        this.#pumping = false;
      },
      (error: unknown) => {
        this.#pumping = false;
        this.#fail(error);
      },
    );
  }

  async #replay(): Promise<void> {
    const pageBytes = Math.min(
      REPLAY_PAGE_BYTES,
      Math.floor(this.#ctx.delivery.limits.sendBufferBytes / 4),
    );
    for (;;) {
      const epoch = this.#epoch;
      this.#dirty = false;
      // Read the next page only once the socket has taken the previous one.
      if (!(await this.#outbox.whenWritable()) || this.#phase !== "replay") return;
      if (this.#exact) {
        const recent = this.#ctx.delivery.tail.recent.after(
          this.#cursor,
          (frame) => frame.org === this.org && couldMatch(this.filter, frame.event),
          pageBytes,
        );
        if (recent) {
          this.#ctx.metrics.replayPages.inc({ source: "recent" });
          // Close behind the tail: the frames are in memory, serialized once for everyone.
          for (const frame of recent.frames) if (!this.#outbox.push(frame.sse)) return;
          this.#cursor = recent.through;
          if (!recent.done) continue;
          this.#joinTail();
          return;
        }
      }
      const page = await this.#readPage(pageBytes);
      if (page === undefined) return;
      if (page.bytes !== undefined && !this.#outbox.push(page.bytes)) return;
      this.#cursor = page.last;
      if (page.next !== undefined) {
        // A store that bounds its scans (SQLite) may answer a range with nothing in it.
        if (page.next > this.#cursor) this.#cursor = page.next;
        // SQLite reads on this thread: let other requests in between pages.
        await new Promise<void>((resolve) => setImmediate(resolve));
        continue;
      }
      if (!this.#exact) {
        if (this.#dirty) continue;
        return;
      }
      if (epoch !== this.#epoch) continue;
      this.#joinTail();
      return;
    }
  }

  /**
   * The page of matching events after the cursor, as bytes to write: from the pages another
   * reader just read when it replays the same history (exact streams), else from the store.
   * Undefined when the stream ended meanwhile.
   */
  async #readPage(pageBytes: number): Promise<StreamPage | undefined> {
    const ctx = this.#ctx;
    const after = this.#cursor;
    const key = this.#exact ? ReplayPages.key(this.org, this.filter, after, pageBytes) : undefined;
    const cached = key && ctx.delivery.replayPages.get(key, ctx.retained.oldest);
    ctx.metrics.replayPages.inc({ source: cached ? "shared" : "store" });
    if (cached) return cached;
    const read = await ctx.store.listEventsJson(this.org, this.filter, {
      after,
      limit: REPLAY_PAGE_EVENTS,
      maxBytes: pageBytes,
    });
    if (this.#phase !== "replay") return undefined;
    // The events' stored JSON as it is, one string, then one buffer: no parse and no
    // serialization of payloads, no buffer per event, nor a copy joining them.
    let text = "";
    let last = after;
    for (const event of read.data) {
      if (event.seq <= last) continue;
      text += formatSseMessage({ id: event.seq, event: event.type, data: event.json });
      last = event.seq;
    }
    const bytes = text === "" ? undefined : Buffer.from(text);
    const first = read.data[0]?.seq ?? 0;
    if (key && read.next !== undefined)
      ctx.delivery.replayPages.add(key, { bytes, first, last, next: read.next });
    return { bytes, last, next: read.next };
  }

  /** Replay is caught up: write the held frames above the cursor and go live. */
  #joinTail(): void {
    const held = this.#held;
    this.#held = [];
    this.#heldBytes = 0;
    this.#setPhase("live");
    for (const frame of held) {
      if (frame.seq <= this.#cursor) continue;
      if (!this.#outbox.push(frame.sse)) return;
      this.#cursor = frame.seq;
    }
  }

  #ping(): void {
    // A ping behind queued bytes adds nothing: the connection is evidently not idle.
    if (this.#phase === "closed" || this.#outbox.buffered > 0) return;
    this.#outbox.push(Buffer.from(formatSseComment("ping")));
  }

  /** Too slow or stuck: end the stream now; the client resumes from its last id, losing nothing. */
  #drop(reason: DropReason): void {
    this.#ctx.logger.info("sse consumer dropped", {
      requestId: this.#requestId,
      keyId: this.#options.keyId,
      reason,
      cursor: this.#cursor,
    });
    this.close();
    this.#res.destroy();
  }

  /** A store failure ends the stream; the client reconnects with Last-Event-ID and loses nothing. */
  #fail(error: unknown): void {
    if (this.#phase !== "closed") {
      this.#ctx.logger.error("sse stream failed", {
        requestId: this.#requestId,
        error: String(error),
      });
    }
    this.close();
  }
}
