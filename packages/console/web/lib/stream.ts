import { EventSource, type EventSourceFetchInit } from "eventsource";
import type { ChorusEvent } from "./event.js";
import type { Session } from "./session.js";

/** The hub's first message on every stream: its id is the seq the stream starts after. */
const READY_EVENT = "chorus.ready";
/** Reconnect delays: quick for a blip, capped so a long outage costs one attempt per 10 s. */
const RETRY_BASE_MS = 250;
const RETRY_MAX_MS = 10_000;
/** A response slower than this is treated as the hub being away, and retried. */
const CONNECT_TIMEOUT_MS = 15_000;

export interface LiveStreamOptions {
  session: Session;
  /** Path of an SSE route with its query, e.g. `/v1/channels/research/stream`. */
  path: string;
  /** Deliver stored events after this seq first (0: the whole history), then live ones. */
  after: number;
  /** Events in order, each once, in batches (one per animation frame at most). */
  onEvents(events: ChorusEvent[]): void;
  /** `true` once connected, `false` while the hub is away (the stream keeps retrying). */
  onConnection(connected: boolean): void;
}

export interface LiveStream {
  close(): void;
}

/**
 * A stream that outlives the hub: every reconnect sends the last seq delivered as
 * `Last-Event-ID`, so the hub replays what was missed and nothing arrives twice (events at or
 * below that seq are skipped). Any refusal, a 401 after a hub restart included, is retried with
 * a fresh token, since a console left open must come back on its own.
 */
export function openLiveStream(options: LiveStreamOptions): LiveStream {
  let lastSeq = options.after;
  let source: EventSource | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let attempt = 0;
  let closed = false;
  let refused = false;
  let batch: ChorusEvent[] = [];
  let frame: number | undefined;

  const flush = () => {
    frame = undefined;
    const events = batch;
    batch = [];
    if (events.length > 0 && !closed) options.onEvents(events);
  };

  const fetchWithAuth = async (url: string | URL, init: EventSourceFetchInit) => {
    const headers: Record<string, string> = { ...init.headers };
    delete headers["Last-Event-ID"];
    headers["last-event-id"] = String(lastSeq);
    if (refused) await options.session.renew();
    headers.authorization = await options.session.authorization();
    const response = await fetch(url, {
      headers,
      signal: AbortSignal.any([
        init.signal ?? new AbortController().signal,
        AbortSignal.timeout(CONNECT_TIMEOUT_MS),
      ]),
    }).catch((error: unknown) => {
      // EventSource stops for good on an AbortError; a timeout must look like the network error it is.
      throw new Error(String(error));
    });
    refused = response.status === 401 || response.status === 403;
    return response;
  };

  const tap = (event: Event) => {
    if (closed) return;
    if (event.type === "open") {
      attempt = 0;
      options.onConnection(true);
      return;
    }
    if (event.type === "error") {
      retry();
      return;
    }
    const message = event as MessageEvent;
    if (event.type === READY_EVENT) return;
    if (typeof message.data !== "string") return;
    let parsed: ChorusEvent;
    try {
      parsed = JSON.parse(message.data) as ChorusEvent;
    } catch {
      return;
    }
    if (parsed.seq <= lastSeq) return; // replayed after a reconnect: already delivered
    lastSeq = parsed.seq;
    batch.push(parsed);
    frame ??= requestAnimationFrame(flush);
  };

  const open = () => {
    if (closed) return;
    const url = new URL(options.path, location.href).toString();
    source = new TappedEventSource(url, fetchWithAuth, tap);
  };

  const retry = () => {
    source?.close();
    source = undefined;
    options.onConnection(false);
    clearTimeout(timer);
    const delay =
      Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** attempt++) * (0.5 + Math.random() / 2);
    timer = setTimeout(open, delay);
  };

  open();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      if (frame !== undefined) cancelAnimationFrame(frame);
      source?.close();
    },
  };
}

/** An EventSource that hands every event (any `event:` name, open, error) to one tap. */
class TappedEventSource extends EventSource {
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
    this.#tap(event);
    return super.dispatchEvent(event);
  }
}
