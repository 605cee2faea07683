import type { EncodedEvent } from "./json-batch.js";
import { eventStore } from "./platform.js";
import { RingBuffer } from "./ring-buffer.js";

/** One event, serialized once at enqueue: its UTF-8 is counted, kept and sent as it is. */
export interface QueuedEvent extends EncodedEvent {
  readonly id: string;
  /**
   * The event, when it still has to pass the schema before it is sent: `emit()` in a page
   * before the schemas loaded (see `Flusher`). Never set in Node.
   */
  readonly unchecked?: unknown;
}

export interface QueueLimits {
  maxEvents: number;
  maxBytes: number;
}

/**
 * The delivery queue, bounded by count and by bytes. When full it drops the *oldest* events:
 * while the hub is down the newest events describe what is happening now, and a bound that
 * refused new events would silently hide the present instead of the past.
 * Events wait as UTF-8, not as strings (see `eventStore` in platform.ts).
 */
export class DeliveryQueue {
  readonly #items = new RingBuffer<QueuedEvent>();
  readonly #limits: QueueLimits;
  #bytes = 0;
  readonly #store = eventStore();

  constructor(limits: QueueLimits) {
    this.#limits = limits;
  }

  get length(): number {
    return this.#items.length;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Append an event serialized as `json`, whose UTF-8 length is `bytes`; returns how many old
   * events were dropped to make room.
   */
  push(id: string, json: string, bytes: number, unchecked?: unknown): number {
    this.#items.push(this.#store(id, json, bytes, unchecked));
    this.#bytes += bytes;
    return this.#trim();
  }

  /**
   * Put a batch that could not be delivered back at the front, in its original order, so it
   * goes out again before anything newer. Returns how many events the bounds then dropped.
   */
  requeue(batch: readonly QueuedEvent[]): number {
    for (let i = batch.length - 1; i >= 0; i--) {
      const event = batch[i] as QueuedEvent;
      this.#items.unshift(event);
      this.#bytes += event.bytes;
    }
    return this.#trim();
  }

  /** Take up to `maxEvents` from the front whose JSON fits in `maxBytes` (at least one). */
  take(maxEvents: number, maxBytes: number): QueuedEvent[] {
    const batch: QueuedEvent[] = [];
    let bytes = 0;
    while (batch.length < maxEvents && this.#items.length > 0) {
      const next = this.#items.peek() as QueuedEvent;
      // +1 for the comma between events in the batch body.
      if (batch.length > 0 && bytes + next.bytes + 1 > maxBytes) break;
      this.#items.shift();
      this.#bytes -= next.bytes;
      bytes += next.bytes + 1;
      batch.push(next);
    }
    return batch;
  }

  clear(): number {
    const n = this.#items.length;
    this.#items.clear();
    this.#bytes = 0;
    return n;
  }

  #trim(): number {
    let dropped = 0;
    while (
      this.#items.length > 0 &&
      (this.#items.length > this.#limits.maxEvents || this.#bytes > this.#limits.maxBytes)
    ) {
      const old = this.#items.shift() as QueuedEvent;
      this.#bytes -= old.bytes;
      dropped++;
    }
    return dropped;
  }
}
