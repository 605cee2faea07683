import type { ChorusEvent, Intent } from "@chorus/protocol";
import { RECONNECT_BACKOFF, retryDelay } from "./backoff.js";
import { loadStreamModule, streamModuleNow, type Timer } from "./platform.js";
import type { EventStream as Connection, EventStreamStart, StreamDeps } from "./stream.js";

/**
 * What `chorus.stream.*` returns: an SSE stream as an async iterable (see `EventStream` in
 * stream.ts for what it does).
 */
export type EventStream = Pick<
  Connection,
  | "lastEventId"
  | "snapshot"
  | "epoch"
  | "yieldedEpoch"
  | "gap"
  | "connected"
  | "onConnection"
  | "close"
  | typeof Symbol.asyncIterator
>;

/**
 * Open a stream. In Node the stream module is loaded with core and this is the stream itself; a
 * page loads it with the SSE client when the first stream opens, so until then the stream is a
 * {@link PendingStream} that becomes it.
 */
export function openStream(deps: StreamDeps, start: EventStreamStart): EventStream {
  const mod = streamModuleNow();
  return mod ? new mod.EventStream(deps, start) : new PendingStream(deps, start);
}

/**
 * A stream whose code is still downloading: it forwards to the real stream once loaded; until
 * then it is not connected, remembers connection listeners, and its iteration waits. A chunk
 * that cannot be downloaded is tried again with the reconnect backoff, as a dropped
 * connection is.
 */
class PendingStream implements EventStream {
  readonly #start: EventStreamStart;
  readonly #listeners = new Map<(connected: boolean) => void, (() => void) | undefined>();
  #stream: Connection | undefined;
  #closed = false;
  readonly #waiting: Array<() => void> = [];
  #attempt = 0;
  #timer: Timer | undefined;

  constructor(deps: StreamDeps, start: EventStreamStart) {
    this.#start = start;
    this.#load(deps);
  }

  #load(deps: StreamDeps): void {
    loadStreamModule().then(
      (mod) => {
        if (this.#closed) return;
        const stream = new mod.EventStream(deps, this.#start);
        for (const listener of this.#listeners.keys()) {
          this.#listeners.set(listener, stream.onConnection(listener));
        }
        this.#stream = stream;
        this.#wake();
      },
      (error: unknown) => {
        if (this.#closed) return;
        deps.diagnostics.warnRateLimited("stream_reconnect", "stream disconnected; reconnecting", {
          error: error instanceof Error ? error.message : String(error),
        });
        const delay = retryDelay(this.#attempt++, RECONNECT_BACKOFF, undefined);
        this.#timer = setTimeout(() => this.#load(deps), delay);
      },
    );
  }

  #wake(): void {
    for (const resume of this.#waiting.splice(0)) resume();
  }

  get lastEventId(): number | undefined {
    return this.#stream ? this.#stream.lastEventId : this.#start.after;
  }

  get snapshot(): Intent | undefined {
    return this.#stream?.snapshot;
  }

  get epoch(): string | undefined {
    return this.#stream?.epoch;
  }

  get yieldedEpoch(): string | undefined {
    if (this.#stream) return this.#stream.yieldedEpoch;
    return this.#start.after === undefined ? undefined : this.#start.epoch;
  }

  get gap(): { after: number; oldest: number } | undefined {
    return this.#stream?.gap;
  }

  get connected(): boolean {
    return this.#stream?.connected ?? false;
  }

  onConnection(listener: (connected: boolean) => void): () => void {
    if (this.#stream) return this.#stream.onConnection(listener);
    this.#listeners.set(listener, undefined);
    return () => {
      this.#listeners.get(listener)?.();
      this.#listeners.delete(listener);
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    if (this.#stream) this.#stream.close();
    else this.#start.onClose?.();
    this.#wake();
  }

  [Symbol.asyncIterator](): AsyncIterator<ChorusEvent> {
    return {
      next: async () => {
        if (!this.#stream && !this.#closed) {
          await new Promise<void>((resume) => this.#waiting.push(resume));
        }
        return this.#stream
          ? this.#stream[Symbol.asyncIterator]().next()
          : { done: true, value: undefined };
      },
      return: async () => {
        this.close();
        return { done: true, value: undefined };
      },
    };
  }
}
