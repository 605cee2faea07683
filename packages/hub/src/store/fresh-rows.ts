import type { CommittedEvent, CommittedPage, ReadLimits } from "./types.js";

/**
 * What the events this process committed may hold until the delivery tail reads them: the tail
 * reads right after each commit, so they stay far below this unless nobody reads (a store
 * without a hub) or a single write is larger. Past it the oldest go, and the tail reads those
 * from the table.
 */
export const FRESH_ROWS_MAX_BYTES = 8 * 1024 * 1024;
export const FRESH_ROWS_MAX_EVENTS = 10_000;

/**
 * The events this process committed to SQLite and the delivery tail has not read yet, so the
 * tail's read after a commit is answered without reading back what was just written. On the
 * hub's one thread that read cost about as much as the insert (some 60–75 µs per single-event
 * commit, caches cold between requests). SQLite has one writer, this process, so these rows are
 * every committed row past {@link #coveredAfter}: writes join them when their outermost
 * transaction ({@link transaction}) commits, in commit order, which is seq order; a write this
 * class cannot follow (outside {@link transaction}) moves {@link #coveredAfter} past it, and
 * reads before that go to the table.
 */
export class FreshRows {
  readonly #maxBytes: number;
  readonly #maxEvents: number;
  /** Committed, unread, seq ascending. */
  #rows: CommittedEvent[] = [];
  /** Index of the first unread row of {@link #rows} (the array is compacted now and then). */
  #head = 0;
  #bytes = 0;
  /** Written inside the open transactions, not committed yet. */
  #staged: CommittedEvent[] = [];
  #depth = 0;
  /** Every committed event with a seq above this one is in {@link #rows}. */
  #coveredAfter: number;

  constructor(
    coveredAfter: number,
    maxBytes = FRESH_ROWS_MAX_BYTES,
    maxEvents = FRESH_ROWS_MAX_EVENTS,
  ) {
    this.#coveredAfter = coveredAfter;
    this.#maxBytes = maxBytes;
    this.#maxEvents = maxEvents;
  }

  /**
   * Run `transact`, which runs a SQLite transaction (a savepoint when nested). What it wrote
   * joins the fresh rows once the outermost one committed; what a transaction that threw wrote
   * is forgotten, nested ones included. `inTransaction` tells whether the database is still in
   * a transaction this class did not open, whose outcome it cannot see.
   */
  transaction<T>(transact: () => T, inTransaction: () => boolean): T {
    const mark = this.#staged.length;
    this.#depth++;
    let result: T;
    try {
      result = transact();
    } catch (error) {
      this.#staged.length = mark;
      throw error;
    } finally {
      this.#depth--;
    }
    if (this.#depth === 0) {
      const staged = this.#staged;
      this.#staged = [];
      if (inTransaction()) this.#skip(staged.at(-1)?.event.seq);
      else for (const row of staged) this.#add(row);
    }
    return result;
  }

  /** A row was written; it counts once its transaction commits. */
  written(row: CommittedEvent): void {
    if (this.#depth > 0) this.#staged.push(row);
    else this.#skip(row.event.seq);
  }

  /**
   * The page after `after` as the table would give it (same limits: a row that passes
   * `maxBytes` is kept, `more` when any is left), or undefined when these rows do not cover it.
   * The tail reads forward only, so rows at or before `after` are let go.
   */
  read(after: number, limits: ReadLimits): CommittedPage | undefined {
    if (after < this.#coveredAfter) return undefined;
    this.#skip(after);
    const rows = this.#rows;
    const data: CommittedEvent[] = [];
    let bytes = 0;
    let i = this.#head;
    while (i < rows.length && data.length < limits.maxEvents && bytes < limits.maxBytes) {
      const row = rows[i++] as CommittedEvent;
      data.push(row);
      bytes += row.bytes;
    }
    return { data, more: i < rows.length };
  }

  #add(row: CommittedEvent): void {
    this.#rows.push(row);
    this.#bytes += row.bytes;
    // Over the bounds, the oldest go: reads from before them go to the table.
    while (this.#rows.length - this.#head > this.#maxEvents || this.#bytes > this.#maxBytes)
      this.#skip((this.#rows[this.#head] as CommittedEvent).event.seq);
  }

  /** Let rows up to `seq` go: reads from before it go to the table. */
  #skip(seq: number | undefined): void {
    if (seq === undefined) return;
    this.#coveredAfter = Math.max(this.#coveredAfter, seq);
    while (this.#head < this.#rows.length) {
      const row = this.#rows[this.#head] as CommittedEvent;
      if (row.event.seq > seq) break;
      this.#bytes -= row.bytes;
      this.#head++;
    }
    this.#compact();
  }

  #compact(): void {
    if (this.#head === this.#rows.length) {
      this.#rows = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#rows.length) {
      this.#rows = this.#rows.slice(this.#head);
      this.#head = 0;
    }
  }
}
