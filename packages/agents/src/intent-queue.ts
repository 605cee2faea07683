/**
 * Per-intent serial queues under one concurrency bound: items of one key run one at a time in
 * the order they were pushed; different keys run side by side, at most `concurrency` at once.
 * A key with more items goes to the back of the line after each item, so one busy intent cannot
 * starve the others.
 */
export class IntentQueues<T> {
  readonly #concurrency: number;
  readonly #run: (key: string, item: T) => Promise<void>;
  readonly #pending = new Map<string, T[]>();
  /** Keys with items waiting for a slot, in the order they got in line. */
  readonly #ready = new Set<string>();
  readonly #running = new Map<string, Promise<void>>();
  #size = 0;
  #stopped = false;
  #waiters: (() => void)[] = [];

  constructor(options: { concurrency: number; run: (key: string, item: T) => Promise<void> }) {
    this.#concurrency = options.concurrency;
    this.#run = options.run;
  }

  /** Items queued or running. */
  get size(): number {
    return this.#size;
  }

  /** Keys being worked on right now. */
  get active(): number {
    return this.#running.size;
  }

  push(key: string, item: T): void {
    if (this.#stopped) return;
    let queue = this.#pending.get(key);
    if (!queue) {
      queue = [];
      this.#pending.set(key, queue);
    }
    queue.push(item);
    this.#size++;
    if (!this.#running.has(key)) this.#ready.add(key);
    this.#pump();
  }

  /** Resolves once at most `limit` items are queued or running (or the queues stopped). */
  async waitBelow(limit: number): Promise<void> {
    while (this.#size > limit && !this.#stopped) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** Resolves once nothing is queued or running. */
  idle(): Promise<void> {
    return this.waitBelow(0);
  }

  /**
   * Drop what has not started, then wait for what runs: at most `timeoutMs` (`Infinity` or none:
   * for ever, never handed to `setTimeout`, which takes Infinity for 1 ms). Resolves to the keys
   * still running when the wait ended (none if all finished). Later pushes are ignored.
   */
  async stop(timeoutMs = Number.POSITIVE_INFINITY): Promise<string[]> {
    this.#stopped = true;
    for (const queue of this.#pending.values()) this.#size -= queue.length;
    this.#pending.clear();
    this.#ready.clear();
    this.#wake();
    const running = Promise.all([...this.#running.values()]);
    if (!Number.isFinite(timeoutMs)) {
      await running;
      return [];
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      running,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return [...this.#running.keys()];
  }

  #pump(): void {
    while (this.#running.size < this.#concurrency && this.#ready.size > 0) {
      const key = this.#ready.values().next().value as string;
      this.#ready.delete(key);
      const queue = this.#pending.get(key);
      if (!queue || queue.length === 0) continue;
      const item = queue.shift() as T;
      const done = this.#run(key, item)
        .catch(() => {
          // `run` reports its own failures; a queue must never stall on one.
        })
        .finally(() => {
          this.#running.delete(key);
          this.#size--;
          const rest = this.#pending.get(key);
          if (rest && rest.length > 0) this.#ready.add(key);
          else this.#pending.delete(key);
          this.#wake();
          this.#pump();
        });
      this.#running.set(key, done);
    }
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
