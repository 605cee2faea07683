import type { ServerResponse } from "node:http";
import {
  type ChorusEvent,
  formatSseComment,
  formatSseEvent,
  formatSseReady,
  formatSseRetry,
  SSE_RETRY_MS,
} from "@chorus/protocol";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { HubContext } from "../context.js";
import type { EventFilter } from "../store/types.js";
import { couldMatch } from "./event-match.js";
import { routeLabel } from "./observe.js";

/** Events read per store query while catching up: one slow client holds at most one page. */
const PAGE_SIZE = 500;

/** What one SSE connection streams. */
export interface SseStreamOptions {
  org: string;
  filter: EventFilter;
  /** Replay events with a seq above this; undefined starts at the newest stored event. */
  after: number | undefined;
  pingIntervalMs: number;
  /** `keyId` of the caller, for logs. */
  keyId: string;
}

/**
 * Take over the response and stream matching events until the client leaves or the hub
 * shuts down. Call after every check that can still answer with an error envelope.
 */
export async function streamEvents(
  ctx: HubContext,
  request: FastifyRequest,
  reply: FastifyReply,
  options: SseStreamOptions,
): Promise<void> {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
    // Once a stream ends, its socket is not worth keeping: closing it lets shutdown finish
    // at once instead of waiting out keep-alive.
    connection: "close",
    "x-request-id": request.id,
  });
  res.write(formatSseRetry(SSE_RETRY_MS));
  ctx.metrics.httpRequests.inc({
    method: request.method,
    route: routeLabel(request),
    status: "200",
  });
  const stream = new SseStream(ctx, res, options, request.id);
  await stream.start(options.after);
}

/**
 * One connection's "notify, then query" loop. The bus only says that something new may match;
 * the events themselves always come from the store, read after `cursor` (the last seq sent).
 * Replay and live delivery are therefore the same code path, and neither a reconnect nor a
 * burst of writes during replay can produce a gap or a duplicate. At most one pump runs per
 * connection: notifications that arrive meanwhile set `dirty` and cause one more pass.
 */
class SseStream {
  readonly #ctx: HubContext;
  readonly #res: ServerResponse;
  readonly #options: SseStreamOptions;
  readonly #requestId: string;
  #cursor: number | undefined;
  #pumping = false;
  #dirty = false;
  #closed = false;
  #waitingForDrain = false;
  #unsubscribe: (() => void) | undefined;
  #pingTimer: NodeJS.Timeout | undefined;
  readonly #onAbort = () => this.close();

  constructor(ctx: HubContext, res: ServerResponse, options: SseStreamOptions, requestId: string) {
    this.#ctx = ctx;
    this.#res = res;
    this.#options = options;
    this.#requestId = requestId;
  }

  async start(after: number | undefined): Promise<void> {
    const ctx = this.#ctx;
    ctx.metrics.sseConnections.inc();
    this.#res.on("close", () => this.close());
    ctx.closing.addEventListener("abort", this.#onAbort, { once: true });
    // Subscribe before reading the starting point: an event stored in between then wakes the
    // pump instead of being skipped.
    this.#unsubscribe = ctx.bus.subscribe((org, events) => this.#onStored(org, events));
    this.#pingTimer = setInterval(() => this.#ping(), this.#options.pingIntervalMs);
    this.#pingTimer.unref();
    ctx.logger.debug("sse stream opened", {
      requestId: this.#requestId,
      keyId: this.#options.keyId,
    });
    try {
      this.#cursor = after ?? (await ctx.store.maxSeq());
    } catch (error) {
      this.#fail(error);
      return;
    }
    if (ctx.closing.aborted) this.close();
    if (!this.#closed) this.#res.write(formatSseReady(this.#cursor));
    this.#schedule();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe?.();
    clearInterval(this.#pingTimer);
    this.#ctx.closing.removeEventListener("abort", this.#onAbort);
    this.#ctx.metrics.sseConnections.dec();
    if (!this.#res.writableEnded) this.#res.end();
    this.#ctx.logger.debug("sse stream closed", {
      requestId: this.#requestId,
      cursor: this.#cursor,
    });
  }

  #onStored(org: string, events: readonly ChorusEvent[]): void {
    if (org !== this.#options.org) return;
    if (!events.some((e) => couldMatch(this.#options.filter, e))) return;
    this.#schedule();
  }

  #schedule(): void {
    if (this.#closed) return;
    // Until the cursor is known a pump cannot run; `start` schedules one when it is.
    if (this.#pumping || this.#cursor === undefined) {
      this.#dirty = true;
      return;
    }
    this.#pumping = true;
    this.#pump().then(
      () => {
        this.#pumping = false;
      },
      (error: unknown) => {
        this.#pumping = false;
        this.#fail(error);
      },
    );
  }

  async #pump(): Promise<void> {
    do {
      this.#dirty = false;
      for (;;) {
        if (this.#closed) return;
        const page = await this.#ctx.store.listEvents(this.#options.org, this.#options.filter, {
          after: this.#cursor,
          limit: PAGE_SIZE,
        });
        for (const event of page.data) {
          if (this.#closed) return;
          const flushed = this.#res.write(formatSseEvent(event));
          this.#cursor = event.seq;
          // Backpressure: never queue more than the socket buffer for a slow reader.
          if (!flushed) await this.#drain();
        }
        if (page.next === undefined || page.data.length === 0) break;
      }
    } while (this.#dirty && !this.#closed);
  }

  #drain(): Promise<void> {
    this.#waitingForDrain = true;
    return new Promise((resolve) => {
      const done = () => {
        this.#res.off("drain", done);
        this.#res.off("close", done);
        this.#waitingForDrain = false;
        resolve();
      };
      this.#res.on("drain", done);
      this.#res.on("close", done);
    });
  }

  #ping(): void {
    // A ping behind a full buffer adds nothing: the connection is evidently not idle.
    if (this.#closed || this.#waitingForDrain) return;
    this.#res.write(formatSseComment("ping"));
  }

  /** A store failure ends the stream; the client reconnects with Last-Event-ID and loses nothing. */
  #fail(error: unknown): void {
    if (!this.#closed) {
      this.#ctx.logger.error("sse stream failed", {
        requestId: this.#requestId,
        error: String(error),
      });
    }
    this.close();
  }
}
