import type { ChorusEvent, Intent } from "@chorus/protocol";
import {
  parseLastEventId,
  retentionGap,
  SSE_PING_INTERVAL_MS,
  SSE_READY_EVENT,
  SSE_SNAPSHOT_EVENT,
} from "@chorus/protocol/wire";
import type { EventSource, EventSourceFetchInit } from "eventsource";
import { AsyncChannel } from "./async-channel.js";
import { RingBuffer } from "./ring-buffer.js";
import { parseRetryAfter, RECONNECT_BACKOFF, retryDelay } from "./backoff.js";
import { classify } from "./classify.js";
import { type ChorusError, errorFromResponse, ValidationError } from "./errors.js";
import type { FailoverHttpClient } from "./failover.js";
import type { HttpClient } from "./http.js";
import type { Diagnostics } from "./logger.js";
import { eventSourceNow, loadEventSource } from "./platform.js";
import { readText } from "./read-text.js";

/** Filters of an SSE stream. `after` resumes after that seq (otherwise the stream starts live). */
export interface StreamFilters {
  types?: string | readonly string[];
  type?: string;
  agent?: string;
  app?: string;
  env?: string;
  traceId?: string;
  intentId?: string;
  after?: number;
  /**
   * The store epoch `after` was read under (`stream.epoch` or an event page's `epoch`, kept
   * with the seq). A hub whose epoch differs counts seqs in another store (an in-memory hub
   * restarted, a new database), so the stream starts from its beginning (`after=0`) instead of
   * skipping every event up to `after`. Without it, a stored cursor is trusted as is. Ignored
   * without `after`.
   */
  epoch?: string;
}

/** How a stream starts: where its arguments lead, and where it resumes. */
export interface EventStreamStart {
  /** The stream's URL, or a promise of it while its arguments wait for the schemas. */
  url: string | (() => Promise<string>);
  after: number | undefined;
  /** The epoch `after` was read under (see {@link StreamFilters.epoch}). */
  epoch: string | undefined;
  onClose?: () => void;
}

/**
 * Queued between the events of two store epochs, so the iteration knows which store each event
 * it hands out came from (the connection's epoch runs ahead of the reader by what is buffered).
 */
class EpochMark {
  constructor(readonly epoch: string) {}
}

/**
 * A consumer that stops reading is not buffered for without bound: past this many unread events,
 * or {@link PAUSE_AT_CHARS} of their JSON (an event may be 256 KB, so a count alone could hold
 * 256 MB), the connection is closed, and reopened from the last seq (`Last-Event-ID`) once the
 * reader has caught up to {@link RESUME_AT} and a tenth of the text bound. The hub replays from
 * its store, so pausing loses nothing.
 */
export const PAUSE_AT = 1000;
export const RESUME_AT = 100;
export const PAUSE_AT_CHARS = 16 * 1024 * 1024;
/**
 * The most a stream reads of one message (its bytes up to the blank line that ends it):
 * sixteen times the largest event the hub stores (256 KB), ample for an intent snapshot too, so
 * no frame of a hub comes near it. A message that runs past it (a proxy or server that is no
 * hub, streaming without a line break, or `data:` lines without the blank line) would otherwise
 * be buffered whole by the SSE parser, without bound, in the application's memory: the
 * connection is dropped and reopened from the last seq with backoff, as after any other failure.
 */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
/**
 * A connection that stayed open this long (one of the hub's ping intervals) was a working one:
 * the reconnect backoff starts over after it drops, as it does once a connection delivered an
 * event. One that ends sooner without an event (a server closing every answer after its
 * headers or its `chorus.ready`) lets the backoff grow, so it is not reconnected in a loop.
 */
export const HEALTHY_AFTER_MS = SSE_PING_INTERVAL_MS;
/** What is read of a refusal's body: a hub's error envelope is a few hundred bytes. */
export const MAX_ERROR_BODY_BYTES = 64 * 1024;

export interface StreamDeps {
  http: HttpClient;
  diagnostics: Diagnostics;
  timeoutMs: number;
  /**
   * Silence after which an open connection is taken for dead and reconnected (the client's
   * `streamIdleTimeoutMs`); default three of the hub's ping intervals.
   */
  idleTimeoutMs?: number;
}

/**
 * An SSE stream as an async iterable. It resumes after every drop with `Last-Event-ID` (no gap,
 * no duplicate: events at or below the last seq seen are skipped), reconnects with backoff
 * while the hub is down, and ends with a typed error (`AuthenticationError`, `NotFoundError`,
 * ...) on a permanent refusal instead of retrying forever.
 *
 * @example
 * const stream = chorus.stream.channel("research", { types: ["tool.start", "tool.end"] });
 * for await (const event of stream) console.log(event.seq, event.type);
 */
export class EventStream implements AsyncIterable<ChorusEvent> {
  readonly #deps: StreamDeps;
  /** A promise while the stream's arguments wait for the schemas (browser entry, see `StreamsApi`). */
  #url: string | (() => Promise<string>);
  readonly #channel: AsyncChannel<ChorusEvent | EpochMark>;
  #source: EventSource | undefined;
  #lastSeq: number | undefined;
  #snapshot: Intent | undefined;
  #epoch: string | undefined;
  #gap: { after: number; oldest: number } | undefined;
  /** The epoch of the last mark queued, and of the last event the iteration handed out. */
  #queuedEpoch: string | undefined;
  #yieldedEpoch: string | undefined;
  #attempt = 0;
  /** When the current connection opened (0 while none is open), see {@link HEALTHY_AFTER_MS}. */
  #openedAt = 0;
  /** The hub of the current connection. */
  #hub = "";
  #failure: ChorusError | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When the open connection last delivered bytes (events or the hub's pings). */
  #heardAt = 0;
  #watchdog: ReturnType<typeof setTimeout> | undefined;
  #paused = false;
  /** The JSON length of each event the reader has not taken yet, oldest first, and their sum. */
  readonly #unreadSizes = new RingBuffer<number>();
  #unreadChars = 0;
  #closed = false;
  #connected = false;
  readonly #connectionListeners = new Set<(connected: boolean) => void>();

  readonly #onClose: () => void;

  constructor(deps: StreamDeps, start: EventStreamStart) {
    this.#deps = deps;
    this.#onClose = start.onClose ?? (() => {});
    this.#url = start.url;
    this.#lastSeq = start.after;
    // A cursor's epoch is checked against the first connection's, as a reconnect's is.
    if (start.after !== undefined) {
      this.#epoch = start.epoch;
      this.#queuedEpoch = start.epoch;
      this.#yieldedEpoch = start.epoch;
    }
    this.#channel = new AsyncChannel<ChorusEvent | EpochMark>({
      onDrain: () => this.#maybeResume(),
      onReturn: () => this.close(),
    });
    this.#open();
  }

  /** Seq of the last event received: resume a later stream from here with `{ after }`. */
  get lastEventId(): number | undefined {
    return this.#lastSeq;
  }

  /**
   * Intent streams only: the intent as the hub sent it (`chorus.snapshot`) when the current
   * connection opened, before its events. It is not yielded by the iteration; an intent event
   * whose `version` is at or below the snapshot's is already reflected in it.
   */
  get snapshot(): Intent | undefined {
    return this.#snapshot;
  }

  /**
   * The hub store's epoch, from the `chorus.ready` message of the current connection. Seqs are
   * comparable only within one epoch: when a reconnect finds a different epoch (the hub's store
   * was replaced, e.g. an in-memory hub restarted and counts from seq 1 again), the stream
   * starts over from the beginning (`after=0`) instead of skipping every event up to its old
   * cursor. Keep it with `lastEventId` if you store the cursor, and pass both back as
   * `{ after, epoch }`.
   */
  get epoch(): string | undefined {
    return this.#epoch;
  }

  /**
   * The epoch of the last event the iteration handed out (before any: the epoch the stream
   * started under). `epoch` and `lastEventId` are the connection's and run ahead of a reader by
   * what is buffered; a reader that stores the seq of the last event it has handled stores
   * this epoch with it.
   */
  get yieldedEpoch(): string | undefined {
    return this.#yieldedEpoch;
  }

  /**
   * Set when the stream resumed from a cursor below what the hub still holds: its retention
   * deleted the events in between (`after`: the cursor asked for; `oldest`: the lowest seq
   * kept), so whatever of them matched was missed. Logged as a warning when the cursor was a
   * real one (not `after: 0`). Undefined when nothing was missed, as far as the hub knows.
   */
  get gap(): { after: number; oldest: number } | undefined {
    return this.#gap;
  }

  /**
   * Whether the SSE connection is currently open: from the hub's opening `chorus.ready` message
   * (where the stream starts, and any `gap`), or a server's first message, until it drops.
   */
  get connected(): boolean {
    return this.#connected;
  }

  /**
   * Be told when the connection opens (`true`) and drops (`false`), for status lines and
   * lifecycle events; resuming is the stream's own job either way. Not called on `close()`.
   * It opens when the hub has said where the stream starts, so `gap` is already set then.
   * A listener that throws is logged and skipped. Returns a function that removes it.
   *
   * @example
   * stream.onConnection((up) => console.error(up ? "connected" : "reconnecting…"));
   */
  onConnection(listener: (connected: boolean) => void): () => void {
    this.#connectionListeners.add(listener);
    return () => this.#connectionListeners.delete(listener);
  }

  #setConnected(connected: boolean): void {
    if (this.#connected === connected) return;
    this.#connected = connected;
    if (this.#closed) return;
    for (const listener of this.#connectionListeners) {
      try {
        listener(connected);
      } catch {
        this.#deps.diagnostics.warnRateLimited(
          "sse_connection_listener",
          "an SSE connection listener threw; ignored",
        );
      }
    }
  }

  /** Stop streaming. A pending `next()` resolves as done; buffered events are discarded. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#watchdog);
    this.#source?.close();
    this.#source = undefined;
    this.#connected = false;
    this.#connectionListeners.clear();
    this.#channel.end();
    this.#onClose();
  }

  [Symbol.asyncIterator](): AsyncIterator<ChorusEvent> {
    const iterator: AsyncIterableIterator<ChorusEvent> = {
      next: () => this.#next(),
      return: () => this.#channel.return().then(() => ({ value: undefined, done: true })),
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  async #next(): Promise<IteratorResult<ChorusEvent>> {
    for (;;) {
      const result = await this.#channel.next();
      if (result.done || !(result.value instanceof EpochMark)) {
        return result as IteratorResult<ChorusEvent>;
      }
      this.#yieldedEpoch = result.value.epoch;
    }
  }

  #open(): void {
    if (this.#closed) return;
    if ((this.#deps.http as Partial<FailoverHttpClient>).closing?.signal.aborted) {
      // Opened after the client's close(): it ends as one open then did, without connecting
      // (a connection would hold the process). Once the caller has the stream, so `onClose` can
      // find it.
      this.#deps.diagnostics.warnRateLimited(
        "stream_after_close",
        "stream opened after close(); it ends at once",
      );
      queueMicrotask(() => this.close());
      return;
    }
    const EventSourceClass = eventSourceNow();
    if (typeof this.#url !== "string" || EventSourceClass === undefined) {
      void this.#load();
      return;
    }
    this.#failure = undefined;
    this.#openedAt = 0;
    // With several hubs, each connection goes to the one the client uses now: a cursor (seq)
    // is valid on every hub of a cluster.
    const { hubs, baseUrl } = this.#deps.http as Partial<FailoverHttpClient> & HttpClient;
    const url = this.#url;
    const from = hubs?.find((hub) => url.startsWith(`${hub}/`));
    if (from !== undefined) this.#url = baseUrl + url.slice(from.length);
    this.#hub = baseUrl;
    const source = new (tapped(EventSourceClass))(
      this.#url,
      (request, init) => this.#fetch(request, init),
      (event) => {
        if (this.#source === source) this.#onEvent(event);
      },
    );
    this.#source = source;
  }

  /**
   * The browser entry, first open: the stream's URL once its arguments passed the schemas (a
   * refusal ends the stream with its `ValidationError`, as a hub refusal would), and the SSE
   * client's chunk. A chunk that cannot be downloaded (the page's server away) is tried again
   * with the reconnect backoff, like a network error.
   */
  async #load(): Promise<void> {
    try {
      if (typeof this.#url !== "string") {
        const url = await this.#url();
        if (this.#closed) return;
        this.#url = url;
      }
      await loadEventSource();
    } catch (error) {
      if (classify(error).kind === "caller") {
        this.#end(error as ChorusError); // the name or filters did not pass the schema
        return;
      }
      if (this.#closed) return;
      this.#deps.diagnostics.warnRateLimited(
        "stream_reconnect",
        "stream disconnected; reconnecting",
        {
          error: error instanceof Error ? error.message : String(error),
        },
      );
      this.#timer = setTimeout(
        () => this.#open(),
        retryDelay(this.#attempt++, RECONNECT_BACKOFF, undefined),
      );
      return;
    }
    this.#open();
  }

  /** End the iteration with `failure` (a refusal that retrying cannot fix). */
  #end(failure: ChorusError): void {
    if (this.#closed) return;
    this.#dropConnection();
    this.#deps.diagnostics.report(failure, {
      operation: "stream",
      url: typeof this.#url === "string" ? this.#url : undefined,
    });
    this.#closed = true;
    this.#channel.end(failure);
    this.#onClose();
  }

  /**
   * The fetch the EventSource uses: adds the API key and our own `Last-Event-ID` (the last seq
   * we delivered, which is also right across our own reconnects), bounds the wait for response
   * headers, and turns a refusal into the hub's typed error.
   */
  async #fetch(url: string | URL, init: EventSourceFetchInit): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers, ...this.#deps.http.authHeaders() };
    delete headers["Last-Event-ID"];
    if (this.#lastSeq !== undefined) headers["last-event-id"] = String(this.#lastSeq);
    const controller = new AbortController();
    const abort = () => controller.abort();
    init.signal?.addEventListener("abort", abort, { once: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.#deps.timeoutMs);
    try {
      const response = await this.#deps.http.fetch(url, {
        method: "GET",
        headers,
        redirect: "follow",
        signal: controller.signal,
      });
      if (response.status !== 200) {
        const text = await readText(response, MAX_ERROR_BODY_BYTES).catch(() => "");
        this.#failure = errorFromResponse(
          response.status,
          safeJson(text),
          parseRetryAfter(response.headers.get("retry-after")),
        );
        return new Response(null, { status: response.status, headers: response.headers });
      }
      const type = response.headers.get("content-type") ?? "";
      if (!type.toLowerCase().startsWith("text/event-stream")) {
        // EventSource fails such a connection for good; reconnecting would ask the same server
        // (a web page at the URL, not a hub) forever.
        await response.body?.cancel().catch(() => {});
        this.#failure = new ValidationError(
          `the stream's server answered ${type === "" ? "with no content type" : `with ${type}`}, not text/event-stream: ${this.#hub} is not a Chorus hub's URL`,
          { field: "url", status: response.status },
        );
        return new Response(null, { status: response.status, headers: response.headers });
      }
      return this.#heard(response);
    } catch (error) {
      // EventSource treats an AbortError as "closed by the user" and stops; a connect timeout
      // must instead look like the network error it is, so the stream reconnects.
      if (timedOut) throw new Error(`no response within ${this.#deps.timeoutMs} ms`);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The response, its body noting when bytes arrive (see {@link #watch}). */
  #heard(response: Response): Response {
    this.#heardAt = Date.now();
    const body = response.body;
    if (body === null) return response;
    const heard = () => {
      this.#heardAt = Date.now();
    };
    const tooLong = () =>
      this.#deps.diagnostics.warnRateLimited(
        "stream_message_too_long",
        `stream answer has a message over ${MAX_MESSAGE_BYTES} bytes (no hub sends one); reconnecting`,
      );
    /** Bytes since the last blank line (the end of a message), and where the last byte left us. */
    let message = 0;
    let lineStart = true;
    let afterCr = false;
    const noted = body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          heard();
          // A line ends at CRLF, LF or CR; an empty line ends the message.
          let end = -1;
          for (let i = 0; i < chunk.length; i++) {
            const byte = chunk[i];
            if (byte === 0x0a && afterCr)
              afterCr = false; // the LF of a CRLF
            else if (byte === 0x0a || byte === 0x0d) {
              if (lineStart) end = i;
              lineStart = true;
              afterCr = byte === 0x0d;
            } else lineStart = afterCr = false;
          }
          message = end < 0 ? message + chunk.length : chunk.length - 1 - end;
          if (message > MAX_MESSAGE_BYTES) {
            tooLong();
            controller.error(new Error("stream message too long"));
            return;
          }
          controller.enqueue(chunk);
        },
      }),
    );
    // The media type in the SSE client's spelling: it compares case-sensitively, HTTP does not.
    return new Response(noted, { headers: { "content-type": "text/event-stream" } });
  }

  /**
   * From the moment the answer opens: a connection that delivers nothing, not even the hub's
   * `chorus.ready` or ping, for `idleTimeoutMs` is gone without having closed (a hub that lost
   * power, a NAT or proxy that forgot the flow; TCP takes many minutes to notice). It is
   * dropped and reopened from the last seq, as after any other drop.
   */
  #watch(): void {
    clearTimeout(this.#watchdog);
    const limit = this.#deps.idleTimeoutMs ?? 3 * SSE_PING_INTERVAL_MS;
    const wait = Math.max(1, this.#heardAt + limit - Date.now());
    this.#watchdog = setTimeout(() => {
      this.#watchdog = undefined;
      if (this.#closed || this.#source === undefined) return;
      if (Date.now() - this.#heardAt < limit) {
        this.#watch();
        return;
      }
      this.#deps.diagnostics.warnRateLimited(
        "stream_idle",
        `stream received nothing for ${limit} ms; reconnecting`,
      );
      this.#onError(undefined);
    }, wait);
    // The stream's own socket keeps the process alive while it is open; this timer never does.
    (this.#watchdog as { unref?: () => void }).unref?.();
  }

  #onEvent(event: Event): void {
    if (this.#closed) return;
    if (event.type === "open") {
      // Connected once the hub says where the stream starts (below): listeners then know `gap`.
      this.#openedAt = Date.now();
      this.#watch();
      return;
    }
    if (event.type === "error") {
      this.#onError((event as Event & { code?: number; message?: string }).code);
      return;
    }
    if (event.type === SSE_READY_EVENT) {
      const { epoch, oldest: kept, ahead } = readyData((event as MessageEvent).data);
      if (epoch !== undefined && this.#epoch !== undefined && epoch !== this.#epoch) {
        // Another store: our cursor means nothing there. Start again from its first event.
        this.#epoch = epoch;
        this.#lastSeq = 0;
        this.#deps.diagnostics.warnRateLimited(
          "stream_epoch_changed",
          "the hub's store changed (new epoch); the stream restarts from the beginning",
        );
        // With the reconnect backoff: a load balancer over hubs of different stores would
        // otherwise flip between them in a tight loop.
        this.#dropConnection();
        this.#reconnect(undefined);
        return;
      }
      if (epoch !== undefined) {
        this.#epoch = epoch;
        if (epoch !== this.#queuedEpoch) {
          this.#queuedEpoch = epoch;
          this.#enqueue(new EpochMark(epoch), 0);
        }
      }
      // Where the hub started this stream: resume from here even if no event arrives first.
      const after = parseLastEventId((event as MessageEvent).lastEventId);
      const oldest = retentionGap(after, kept ?? 0);
      if (after !== undefined && oldest !== undefined) {
        this.#gap = { after, oldest };
        if (after > 0)
          this.#deps.diagnostics.warnRateLimited(
            "stream_retention_gap",
            `the stream resumed after seq ${after}, but the hub keeps events from seq ${oldest} on: its retention deleted the ones in between, and what of them matched was missed`,
          );
      }
      if (after !== undefined && ahead && this.#lastSeq !== undefined && after < this.#lastSeq) {
        // Our cursor is past the newest event the hub's store holds (restored from a backup,
        // say): it numbers its next events from there, and skipping up to our cursor would
        // lose them. Resume from where the hub started the stream (its beginning).
        this.#deps.diagnostics.warnRateLimited(
          "stream_cursor_ahead",
          `the stream asked to resume after seq ${this.#lastSeq}, beyond the newest event of the hub's store (restored from a backup?): it restarts from the beginning`,
        );
        this.#lastSeq = after;
      } else if (after !== undefined && (this.#lastSeq === undefined || after > this.#lastSeq)) {
        this.#lastSeq = after;
      }
      this.#setConnected(true);
      return;
    }
    // A server that sends no `chorus.ready` counts as connected at its first message.
    this.#setConnected(true);
    const data = (event as MessageEvent).data;
    if (typeof data !== "string") return;
    if (event.type === SSE_SNAPSHOT_EVENT) {
      // An intent stream's opening state: kept apart, never yielded as an event.
      const snapshot = safeJson(data);
      if (snapshot && typeof snapshot === "object") this.#snapshot = snapshot as Intent;
      return;
    }
    // An event is a JSON object: anything else (not JSON, `5`, `null`, `[…]`) is not handed out.
    const parsed = safeJson(data) as ChorusEvent | null;
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      this.#deps.diagnostics.warnRateLimited(
        "sse_bad_json",
        "ignored an SSE message that is not a JSON object",
      );
      return;
    }
    const seq = parsed.seq as unknown;
    if (seq !== undefined) {
      // A cursor the hub never writes (1e300, -1, 2.5, "7") would become Last-Event-ID and
      // skip every real event after it: such a message is not handed out.
      if (!Number.isSafeInteger(seq) || (seq as number) < 1) {
        this.#deps.diagnostics.warnRateLimited(
          "sse_bad_seq",
          "ignored an SSE message whose seq is not a positive integer",
        );
        return;
      }
      if (this.#lastSeq !== undefined && (seq as number) <= this.#lastSeq) return; // delivered
      this.#lastSeq = seq as number;
    }
    this.#enqueue(parsed, data.length);
    this.#attempt = 0; // a working connection: the backoff starts over
    if (
      (this.#channel.length >= PAUSE_AT || this.#unreadChars >= PAUSE_AT_CHARS) &&
      !this.#paused
    ) {
      this.#paused = true;
      this.#dropConnection();
    }
  }

  #onError(status: number | undefined): void {
    const wasOpen = this.#connected;
    this.#setConnected(false);
    const failure = this.#failure;
    // A hub that cannot be reached or answers 5xx: reconnect to the next hub of the list. A
    // stream that drops after opening tries its hub again first (a dead one then refuses).
    if ((!wasOpen && failure === undefined) || classify(failure).outage)
      (this.#deps.http as Partial<FailoverHttpClient>).failover?.(this.#hub);
    // A refusal that reconnecting cannot fix (revoked key, missing scope, unknown intent) ends
    // the iteration with its typed error.
    if (status !== undefined && failure && classify(failure).kind === "caller") {
      this.#end(failure);
      return;
    }
    // Everything else (network error, end of stream, 5xx, 429) is retried by us, with backoff,
    // so the EventSource's own fixed-interval reconnect is not used.
    if (this.#openedAt > 0 && Date.now() - this.#openedAt >= HEALTHY_AFTER_MS) this.#attempt = 0;
    this.#dropConnection();
    if (this.#paused) return;
    this.#reconnect(failure, status);
  }

  /** Open a new connection after the backoff (at least the hub's `Retry-After`). */
  #reconnect(failure: ChorusError | undefined, status?: number): void {
    const delay = retryDelay(this.#attempt++, RECONNECT_BACKOFF, classify(failure).retryAfterMs);
    if (this.#attempt > 1) {
      this.#deps.diagnostics.warnRateLimited(
        "stream_reconnect",
        "stream disconnected; reconnecting",
        {
          status,
          error: failure?.message,
        },
      );
    }
    this.#timer = setTimeout(() => this.#open(), delay);
  }

  #dropConnection(): void {
    clearTimeout(this.#timer);
    clearTimeout(this.#watchdog);
    this.#watchdog = undefined;
    this.#source?.close();
    this.#source = undefined;
    this.#setConnected(false);
  }

  /** Hand an item to the reader, counting its size while it waits unread. */
  #enqueue(item: ChorusEvent | EpochMark, size: number): void {
    const before = this.#channel.length;
    this.#channel.push(item);
    if (this.#channel.length > before) {
      this.#unreadSizes.push(size);
      this.#unreadChars += size;
    }
  }

  #maybeResume(): void {
    // The channel hands items out in order: forget the sizes of those the reader took.
    const unread = this.#unreadSizes;
    while (unread.length > this.#channel.length) this.#unreadChars -= unread.shift() as number;
    if (
      this.#paused &&
      !this.#closed &&
      this.#channel.length <= RESUME_AT &&
      this.#unreadChars <= PAUSE_AT_CHARS / 10
    ) {
      this.#paused = false;
      this.#attempt = 0;
      this.#open();
    }
  }
}

type TappedEventSource = EventSource;
type TappedConstructor = new (
  url: string,
  fetch: (url: string | URL, init: EventSourceFetchInit) => Promise<Response>,
  tap: (event: Event) => void,
) => TappedEventSource;
let tappedClass: TappedConstructor | undefined;

/**
 * An EventSource that hands every event (any `event:` name, open, error) to one tap: a subclass
 * of the SSE client's class, made once it is loaded (the browser entry loads it lazily).
 */
function tapped(Base: typeof EventSource): TappedConstructor {
  tappedClass ??= class extends Base {
    readonly #tap: (event: Event) => void;

    constructor(
      url: string,
      fetch: (url: string | URL, init: EventSourceFetchInit) => Promise<Response>,
      tap: (event: Event) => void,
    ) {
      super(url, { fetch });
      this.#tap = tap;
    }

    override dispatchEvent(event: Event): boolean {
      // Events are dispatched only after the (async) fetch resolves, so #tap is set by then.
      try {
        this.#tap(event);
      } catch {
        // a tap failure must not break the EventSource
      }
      const dispatched = super.dispatchEvent(event);
      // After a dropped connection the SSE client arms its own reconnect timer (ref'd, as long
      // as the server's `retry:` asks) right after this returns, even when the tap closed it.
      // The stream reconnects on its own, so disarm it: it would hold the process after close().
      if (event.type === "error") queueMicrotask(() => this.close());
      return dispatched;
    }
  };
  return tappedClass;
}

/**
 * A `chorus.ready` message's data, read once: the store's `epoch`, the `oldest` seq a hub sends
 * to a stream resuming below it, and whether the cursor asked for was `ahead` of the newest seq
 * the store holds (seqs it could be: see the seq checks).
 */
function readyData(data: unknown): { epoch?: string; oldest?: number; ahead?: boolean } {
  const parsed = typeof data === "string" ? safeJson(data) : undefined;
  if (typeof parsed !== "object" || parsed === null) return {};
  const { epoch, oldest, ahead } = parsed as Record<string, unknown>;
  return {
    epoch: typeof epoch === "string" ? epoch : undefined,
    oldest: Number.isSafeInteger(oldest) && (oldest as number) > 0 ? (oldest as number) : undefined,
    ahead: Number.isSafeInteger(ahead) && (ahead as number) > 0,
  };
}

function safeJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return text;
  }
}
