import type { HubMetrics } from "../metrics.js";
import type { Flusher } from "./flusher.js";
import type { DeliveryLimits } from "./limits.js";

/** The writable side of one connection: an SSE response or an MQTT client's stream. */
export interface OutboxTarget {
  write(chunk: Buffer): boolean;
  readonly writableLength: number;
  readonly writableNeedDrain: boolean;
  once(event: "drain", listener: () => void): unknown;
  off(event: "drain", listener: () => void): unknown;
  /** Sockets have these: chunks written between them go out in one `writev`, uncopied. */
  cork?(): void;
  uncork?(): void;
}

export type ConnectionKind = "sse" | "mqtt";
/** Why a consumer was dropped: it fell a whole buffer behind, or its socket took nothing for too long. */
export type DropReason = "buffer_full" | "write_timeout";

export interface OutboxOptions {
  kind: ConnectionKind;
  limits: DeliveryLimits;
  flusher: Flusher;
  metrics: HubMetrics;
  /** The consumer must go: end its connection. Called at most once. */
  onDrop(reason: DropReason): void;
}

/**
 * One connection's bounded send buffer. Chunks queued during a tick go out as one `write`
 * (the flusher calls {@link flush} once per tick for every outbox that has something), and
 * what the socket still holds never exceeds `sendBufferBytes` (see {@link push}): past it
 * the consumer is dropped rather than buffered for. A write the socket refuses arms a timer;
 * a socket that does not drain before it fires is dropped too.
 */
export class Outbox {
  readonly #target: OutboxTarget;
  readonly #options: OutboxOptions;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #highWater = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #waiters: (() => void)[] = [];
  readonly #onDrain = () => {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#wakeWaiters();
  };

  constructor(target: OutboxTarget, options: OutboxOptions) {
    this.#target = target;
    this.#options = options;
  }

  /** Bytes queued here plus bytes the socket has accepted but not yet sent. */
  get buffered(): number {
    return this.#closed ? 0 : this.#pendingBytes + this.#target.writableLength;
  }

  get highWater(): number {
    return this.#highWater;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Queue a chunk for this pass's write. False when the consumer was dropped (or is gone).
   *
   * The reader is behind when its socket still holds a whole send buffer it has not taken
   * (`writableLength`); what is queued here is the hub's own batching, written at the next pass
   * whatever the reader does, so it does not count against the reader. It is bounded all the
   * same: a queue that reaches the send buffer is written at once. So one connection holds at
   * most twice `sendBufferBytes`, and a healthy reader is never dropped for a burst.
   */
  push(chunk: Buffer): boolean {
    if (this.#closed) return false;
    const cap = this.#options.limits.sendBufferBytes;
    if (this.#target.writableLength + chunk.length > cap) {
      this.#drop("buffer_full");
      return false;
    }
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    const after = this.buffered;
    if (after > this.#highWater) this.#highWater = after;
    if (this.#pendingBytes >= cap) this.flush();
    else this.#options.flusher.mark(this);
    return true;
  }

  /** Write everything queued in one go. */
  flush(): void {
    if (this.#closed || this.#pendingBytes === 0) return;
    const chunks = this.#pending;
    const bytes = this.#pendingBytes;
    this.#pending = [];
    this.#pendingBytes = 0;
    const target = this.#target;
    let accepted = true;
    if (chunks.length > 1 && !this.#options.flusher.passing && target.cork && target.uncork) {
      // Outside a pass (a replay page) no other connection shares these chunks: hand the
      // socket all of them at once rather than copying them into one buffer first.
      target.cork();
      for (const chunk of chunks) accepted = target.write(chunk);
      target.uncork();
    } else {
      accepted = target.write(this.#options.flusher.join(chunks, bytes));
    }
    if (!accepted && this.#timer === undefined && !this.#closed) {
      this.#target.once("drain", this.#onDrain);
      this.#timer = setTimeout(
        () => this.#drop("write_timeout"),
        this.#options.limits.writeTimeoutMs,
      );
      this.#timer.unref();
    }
  }

  /**
   * Write what is queued, then resolve true once the socket asks for more (true at once when
   * it already does), or false if the connection ends first. Replay waits here between pages,
   * so a reader that does not read holds at most one page beyond the socket's own buffer.
   */
  async whenWritable(): Promise<boolean> {
    this.flush();
    while (!this.#closed && this.#timer !== undefined) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    return !this.#closed;
  }

  /** The connection ended: release everything and record its high-water mark. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#target.off("drain", this.#onDrain);
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#options.metrics.sendBufferHighWater.observe(
      { kind: this.#options.kind },
      this.#highWater,
    );
    this.#wakeWaiters();
  }

  #wakeWaiters(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  #drop(reason: DropReason): void {
    if (this.#closed) return;
    this.#options.metrics.slowConsumerDrops.inc({ kind: this.#options.kind, reason });
    this.close();
    this.#options.onDrop(reason);
  }
}
