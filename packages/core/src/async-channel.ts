import { RingBuffer } from "./ring-buffer.js";

/**
 * Push on one side, `for await` on the other. The producer decides the bound (an SSE stream
 * pauses its connection; realtime drops the oldest); this only buffers, hands out items in
 * order, and ends with an error or cleanly. `onDrain` fires after each item taken, so a
 * paused producer can resume.
 */
export class AsyncChannel<T> implements AsyncIterableIterator<T> {
  readonly #buffer = new RingBuffer<T>();
  #waiting: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  #ended = false;
  #error: unknown;
  readonly #onDrain: (() => void) | undefined;
  readonly #onReturn: (() => void) | undefined;

  constructor(hooks: { onDrain?: () => void; onReturn?: () => void } = {}) {
    this.#onDrain = hooks.onDrain;
    this.#onReturn = hooks.onReturn;
  }

  get length(): number {
    return this.#buffer.length;
  }

  get ended(): boolean {
    return this.#ended;
  }

  push(item: T): void {
    if (this.#ended) return;
    if (this.#waiting) {
      const waiting = this.#waiting;
      this.#waiting = undefined;
      waiting.resolve({ value: item, done: false });
      return;
    }
    this.#buffer.push(item);
  }

  /** Drop the oldest buffered item (the producer's overflow policy). */
  dropOldest(): T | undefined {
    return this.#buffer.shift();
  }

  /** End the iteration: buffered items are still delivered, then `error` (if any) is thrown once. */
  end(error?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = error;
    if (this.#waiting && this.#buffer.length === 0) {
      const waiting = this.#waiting;
      this.#waiting = undefined;
      this.#settleEnd(waiting);
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#buffer.length > 0) {
      const value = this.#buffer.shift() as T;
      this.#onDrain?.();
      return Promise.resolve({ value, done: false });
    }
    if (this.#ended) {
      return new Promise((resolve, reject) => this.#settleEnd({ resolve, reject }));
    }
    if (this.#waiting)
      return Promise.reject(new Error("next() called before the previous call settled"));
    this.#onDrain?.();
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
    });
  }

  /** `break` out of `for await` lands here: stop the producer. */
  return(): Promise<IteratorResult<T>> {
    this.#buffer.clear();
    this.end();
    this.#onReturn?.();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  #settleEnd(waiting: {
    resolve: (r: IteratorResult<T>) => void;
    reject: (e: unknown) => void;
  }): void {
    if (this.#error !== undefined) {
      const error = this.#error;
      this.#error = undefined; // thrown once; the iteration is then simply done
      waiting.reject(error);
      return;
    }
    waiting.resolve({ value: undefined, done: true });
  }
}
