/** Where an event's UTF-8 waits for delivery: `bytes` bytes of `chunk` from `at`. */
export interface EncodedEvent {
  readonly chunk: Uint8Array;
  readonly at: number;
  readonly bytes: number;
}

const HEAD = '{"events":[';
const TAIL = "]}";
const COMMA = 0x2c;
const encoder = new TextEncoder();

/**
 * The body of an event batch, `{"events":[…]}`, assembled from events serialized once at
 * enqueue: delivery copies their UTF-8 (kept by the queue) into one byte array. Concatenating a
 * batch into one string (up to ~1 MiB) and encoding it again on the socket cost several times
 * more, on the application's CPU, than serializing the events did.
 */
export class EventBatchBody {
  readonly #events: readonly EncodedEvent[];

  constructor(events: readonly EncodedEvent[]) {
    this.#events = events;
  }

  /** The body as one string, for a `fetch` given in the options (it may read the body as text). */
  text(): string {
    return new TextDecoder().decode(this.bytes());
  }

  /** The body as UTF-8 bytes, each event copied into its place. */
  bytes(): Uint8Array {
    const events = this.#events;
    let size = HEAD.length + TAIL.length + Math.max(0, events.length - 1);
    for (const e of events) size += e.bytes;
    const out = new Uint8Array(size);
    let at = encoder.encodeInto(HEAD, out).written;
    for (let i = 0; i < events.length; i++) {
      if (i > 0) out[at++] = COMMA;
      const e = events[i] as EncodedEvent;
      out.set(e.chunk.subarray(e.at, e.at + e.bytes), at);
      at += e.bytes;
    }
    encoder.encodeInto(TAIL, out.subarray(at));
    return out;
  }
}
