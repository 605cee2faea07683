/**
 * "Events up to seq N are committed": the only thing a writer tells the delivery tail. It never
 * carries the events themselves, so the same interface fits a wake-up from another hub
 * (Postgres `LISTEN/NOTIFY`) as well as one from this process.
 */
export interface CommitSignal {
  /** A write committed events up to `seq`. Called by whoever wrote them, after the commit. */
  committed(seq: number): void;
  /** Hear of commits (this hub's and, for shared stores, other hubs'). Returns unsubscribe. */
  subscribe(listener: (seq: number) => void): () => void;
  /**
   * Hear that an org's presence rows changed on another hub (shared stores: the store notifies
   * with the write). A hub tells its own watchers itself. Returns unsubscribe.
   */
  subscribePresence(listener: (org: string) => void): () => void;
  close(): Promise<void>;
}

/** Commits of this process only: the default, with the SQLite store. */
export class LocalCommitSignal implements CommitSignal {
  readonly #listeners = new Set<(seq: number) => void>();

  committed(seq: number): void {
    for (const listener of this.#listeners) listener(seq);
  }

  subscribe(listener: (seq: number) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** No other hub shares this store: nothing to hear. */
  subscribePresence(_listener: (org: string) => void): () => void {
    return () => {};
  }

  async close(): Promise<void> {
    this.#listeners.clear();
  }
}

/** The highest seq among freshly stored events, undefined when none was stored. */
export function lastSeq(events: readonly { seq: number }[]): number | undefined {
  let max: number | undefined;
  for (const event of events) if (max === undefined || event.seq > max) max = event.seq;
  return max;
}
