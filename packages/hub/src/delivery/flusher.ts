/** Anything with queued bytes to write once per pass. */
export interface Flushable {
  flush(): void;
}

/**
 * How long the flusher rests after a pass, as a multiple of the time the pass's writes cost.
 * Each write to a socket is a system call whose cost does not depend on its size, so with a
 * thousand watchers writing every event at once costs a thousand calls per event. Resting four
 * times as long as the writes took keeps writing to at most a fifth of the hub's time: a pass of
 * one write (a few watchers) is followed at once, one of a thousand (5 ms) gathers the next
 * 20 ms of events into one write per connection instead of one write per event.
 */
export const FLUSH_REST_FACTOR = 4;

/**
 * Passes whose cost per write prices the rest: the median of the latest ones, not the pass just
 * made. A pass's clock time also holds whatever interrupted it (a garbage collection, the CPU
 * lent to another process); priced by its own duration, a single write that took 5 ms that way
 * earned 20 ms of rest, and every event committed meanwhile waited for it (the latency bench's
 * p99 at 1,000 events/s showed those waits).
 */
export const FLUSH_COST_WINDOW = 16;

/**
 * Collects the outboxes that received bytes and writes each once per pass: one `write` per
 * connection per pass, however many events reached it. The tail asks for a pass right after
 * each batch; writes made outside a batch (replay pages, pings) are passed on the next turn of
 * the event loop. A pass waits out the rest earned by the previous one ({@link FLUSH_REST_FACTOR}).
 */
export class Flusher {
  readonly #now: () => number;
  #dirty = new Set<Flushable>();
  #scheduled = false;
  /** When the next pass may run (on {@link #now}'s clock). */
  #notBefore = 0;
  /** Milliseconds per write of the latest passes ({@link FLUSH_COST_WINDOW}), oldest first. */
  readonly #perWrite: number[] = [];
  /** During a pass: chunks already joined, by their first chunk (see {@link join}). */
  #joined: Map<Buffer, { chunks: readonly Buffer[]; data: Buffer }[]> | undefined;

  /** `now`: a millisecond clock (a test's own). */
  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** Whether a pass is under way (connections may share joined buffers). */
  get passing(): boolean {
    return this.#joined !== undefined;
  }

  /** When the next pass may run, on the flusher's clock. */
  get restingUntil(): number {
    return this.#notBefore;
  }

  /**
   * The chunks as one buffer. Within a pass, connections that were handed the same frames (every
   * watcher of a channel) share one copy: the join is made once, not once per connection.
   */
  join(chunks: readonly Buffer[], bytes: number): Buffer {
    if (chunks.length === 1) return chunks[0] as Buffer;
    const joined = this.#joined;
    if (!joined) return Buffer.concat(chunks as Buffer[], bytes);
    const first = chunks[0] as Buffer;
    const candidates = joined.get(first);
    if (candidates) {
      for (const candidate of candidates)
        if (sameChunks(candidate.chunks, chunks)) return candidate.data;
    }
    const data = Buffer.concat(chunks as Buffer[], bytes);
    if (candidates) candidates.push({ chunks, data });
    else joined.set(first, [{ chunks, data }]);
    return data;
  }

  mark(outbox: Flushable): void {
    this.#dirty.add(outbox);
    this.#schedule();
  }

  /** Run a pass now if the last one has rested long enough, else as soon as it has. */
  flush(): void {
    if (this.#dirty.size === 0) return;
    if (this.#now() < this.#notBefore) {
      this.#schedule();
      return;
    }
    this.#pass();
  }

  #pass(): void {
    const started = this.#now();
    const dirty = this.#dirty;
    this.#dirty = new Set();
    this.#joined = new Map();
    try {
      for (const outbox of dirty) outbox.flush();
    } finally {
      this.#joined = undefined;
    }
    const ended = this.#now();
    const writes = dirty.size;
    const window = this.#perWrite;
    window.push((ended - started) / writes);
    if (window.length > FLUSH_COST_WINDOW) window.shift();
    this.#notBefore = ended + writes * median(window) * FLUSH_REST_FACTOR;
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    const run = () => {
      this.#scheduled = false;
      this.flush();
    };
    const wait = this.#notBefore - this.#now();
    if (wait >= 1) setTimeout(run, wait).unref();
    else setImmediate(run);
  }
}

/** The median of a few numbers (the upper one of the middle two). */
function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] as number;
}

function sameChunks(a: readonly Buffer[], b: readonly Buffer[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
