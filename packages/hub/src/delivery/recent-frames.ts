import type { Frame } from "./frame.js";

/** A page of {@link RecentFrames.after}. */
export interface RecentPage {
  /** The frames that matched, in seq order. */
  frames: Frame[];
  /** Every event up to this seq was looked at: the reader's cursor may move here. */
  through: number;
  /** The page reached the newest frame the tail delivered. */
  done: boolean;
}

/**
 * The frames the tail delivered last, kept within a byte budget. A reader that comes back
 * shortly after it left (dropped for falling behind, a network blip, a reload) replays from
 * here: no store read, and the bytes already built for everyone else instead of its own
 * serialized copy. Older cursors read the store as before.
 */
export class RecentFrames {
  readonly #maxBytes: number;
  #frames: Frame[] = [];
  #head = 0;
  #bytes = 0;
  /** Every committed event with a seq above this and up to {@link #newest} is held. */
  #floor: number;
  #newest: number;

  constructor(maxBytes: number, cursor: number) {
    this.#maxBytes = maxBytes;
    this.#floor = cursor;
    this.#newest = cursor;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** The tail delivered these (in seq order), which is everything up to the last one's seq. */
  add(frames: readonly Frame[]): void {
    const last = frames.at(-1);
    if (!last) return;
    this.#newest = last.seq;
    if (this.#maxBytes === 0) {
      this.#floor = last.seq;
      return;
    }
    for (const frame of frames) {
      this.#frames.push(frame);
      this.#bytes += frame.size;
    }
    while (this.#bytes > this.#maxBytes && this.#head < this.#frames.length) {
      const old = this.#frames[this.#head++] as Frame;
      this.#bytes -= old.size;
      this.#floor = old.seq;
    }
    // Drop the evicted slots now and then, not on every eviction.
    if (this.#head > 1024 && this.#head * 2 > this.#frames.length) {
      this.#frames = this.#frames.slice(this.#head);
      this.#head = 0;
    }
  }

  /**
   * Frames above `after` that `want` accepts, until their SSE bytes reach `maxBytes`; undefined
   * when events above `after` are no longer all held, or the cache is off (read the store).
   */
  after(after: number, want: (frame: Frame) => boolean, maxBytes: number): RecentPage | undefined {
    if (this.#maxBytes === 0 || after < this.#floor) return undefined;
    const frames: Frame[] = [];
    let bytes = 0;
    let through = Math.max(after, this.#floor);
    for (let i = this.#firstAbove(after); i < this.#frames.length; i++) {
      if (bytes >= maxBytes) return { frames, through, done: false };
      const frame = this.#frames[i] as Frame;
      if (want(frame)) {
        frames.push(frame);
        bytes += frame.sse.length;
      }
      through = frame.seq;
    }
    return { frames, through: Math.max(through, this.#newest), done: true };
  }

  /** Index of the first held frame with a seq above `seq` (binary search; seqs ascend). */
  #firstAbove(seq: number): number {
    let lo = this.#head;
    let hi = this.#frames.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.#frames[mid] as Frame).seq <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
