/**
 * A `Map` that never holds more than `limit` entries: past it, the oldest insertion goes. What an
 * adapter keeps per run, span or pending tool call is removed when its end arrives; the bound is
 * for the ends that never arrive (an aborted stream, a framework bug, a caller that gives up), and
 * those are the oldest entries, so they are evicted first. Setting a key again makes it the newest.
 * A cache (`{ refreshOnGet: true }`) evicts the least recently used instead: a `get` that finds
 * an entry makes it the newest too.
 *
 * @example
 * const runs = new BoundedMap<string, Run>(MAX_RUNS_IN_FLIGHT);
 * runs.set(runId, run);
 * const ended = runs.take(runId); // a second end of the same run finds nothing
 */
export interface BoundedMapOptions {
  /** A `get` that finds an entry makes it the newest (least recently used evicted first). */
  refreshOnGet?: boolean;
}

export class BoundedMap<K, V> {
  readonly #map = new Map<K, V>();
  readonly #limit: number;
  readonly #refreshOnGet: boolean;
  #evicted = 0;

  constructor(limit: number, options: BoundedMapOptions = {}) {
    this.#limit = Math.max(1, Math.floor(limit));
    this.#refreshOnGet = options.refreshOnGet ?? false;
  }

  get size(): number {
    return this.#map.size;
  }

  /** Entries dropped to stay under the limit since creation: a non-zero count means ends went missing. */
  get evicted(): number {
    return this.#evicted;
  }

  get(key: K): V | undefined {
    const value = this.#map.get(key);
    if (this.#refreshOnGet && value !== undefined) {
      // A Map keeps insertion order: re-inserting moves the entry to the newest end.
      this.#map.delete(key);
      this.#map.set(key, value);
    }
    return value;
  }

  has(key: K): boolean {
    return this.#map.has(key);
  }

  set(key: K, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, value);
    while (this.#map.size > this.#limit) {
      // A Map iterates in insertion order: the first key is the oldest.
      const oldest = this.#map.keys().next();
      if (oldest.done) break;
      this.#map.delete(oldest.value);
      this.#evicted++;
    }
  }

  delete(key: K): boolean {
    return this.#map.delete(key);
  }

  /** Remove and return an entry: a second `take` of one key (a duplicated end) finds nothing. */
  take(key: K): V | undefined {
    const value = this.#map.get(key);
    if (value !== undefined) this.#map.delete(key);
    return value;
  }

  clear(): void {
    this.#map.clear();
  }
}
