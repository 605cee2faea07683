/**
 * The body of an event batch, `{"events":[…]}`, assembled from events serialized once at
 * enqueue. Delivery writes the events' UTF-8 straight into one byte array: concatenating a
 * batch into one string (up to ~1 MiB) and encoding it again on the socket costs several times
 * more, on the application's CPU, than serializing the events did.
 */
export interface SerializedEvent {
  readonly json: string;
  /** UTF-8 length of `json`. */
  readonly bytes: number;
}

const HEAD = '{"events":[';
const TAIL = "]}";
const COMMA = 0x2c;
const encoder = new TextEncoder();

export class EventBatchBody {
  readonly #events: readonly SerializedEvent[];

  constructor(events: readonly SerializedEvent[]) {
    this.#events = events;
  }

  /** The body as one string, for a `fetch` given in the options (it may read the body as text). */
  text(): string {
    let body = HEAD;
    for (let i = 0; i < this.#events.length; i++)
      body +=
        i === 0
          ? (this.#events[i] as SerializedEvent).json
          : `,${(this.#events[i] as SerializedEvent).json}`;
    return body + TAIL;
  }

  /** The body as UTF-8 bytes, each event encoded into its place. */
  bytes(): Uint8Array {
    const events = this.#events;
    let size = HEAD.length + TAIL.length + Math.max(0, events.length - 1);
    for (const e of events) size += e.bytes;
    const out = new Uint8Array(size);
    let at = encoder.encodeInto(HEAD, out).written;
    for (let i = 0; i < events.length; i++) {
      if (i > 0) out[at++] = COMMA;
      at += encoder.encodeInto((events[i] as SerializedEvent).json, out.subarray(at)).written;
    }
    at += encoder.encodeInto(TAIL, out.subarray(at)).written;
    // `bytes` is counted at enqueue; should it ever disagree, send what was written, nothing more.
    return at === size ? out : out.subarray(0, at);
  }
}
