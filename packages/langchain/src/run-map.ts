/**
 * Runs in flight at once, per handler. A run whose end never arrives (an aborted stream, a
 * framework bug, a handler attached half-way through a run) would otherwise stay forever; ten
 * thousand covers any real concurrency (each entry is a few hundred bytes) while bounding the
 * leak. The oldest run is evicted first: it is the one most likely to be orphaned.
 */
export const MAX_RUNS_IN_FLIGHT = 10_000;

/** A `Map` by run id that never holds more than `limit` entries, evicting in insertion order. */
export class RunMap<V> {
  readonly #runs = new Map<string, V>();
  readonly #limit: number;
  #evicted = 0;

  constructor(limit: number = MAX_RUNS_IN_FLIGHT) {
    this.#limit = Math.max(1, limit);
  }

  get size(): number {
    return this.#runs.size;
  }

  /** Runs dropped to stay under the limit, since creation. */
  get evicted(): number {
    return this.#evicted;
  }

  get(runId: string): V | undefined {
    return this.#runs.get(runId);
  }

  has(runId: string): boolean {
    return this.#runs.has(runId);
  }

  set(runId: string, value: V): void {
    if (!this.#runs.has(runId)) {
      while (this.#runs.size >= this.#limit) {
        // Map iterates in insertion order, so the first key is the oldest run.
        const oldest = this.#runs.keys().next().value as string;
        this.#runs.delete(oldest);
        this.#evicted++;
      }
    }
    this.#runs.set(runId, value);
  }

  /** Remove and return a run: the second `take` of one id (a duplicated end) finds nothing. */
  take(runId: string): V | undefined {
    const value = this.#runs.get(runId);
    if (value !== undefined) this.#runs.delete(runId);
    return value;
  }
}
