import type { EventFilter } from "../store/types.js";

/** One replay page as it was written to a reader: the bytes of its frames, joined once. */
export interface ReplayPage {
  /** The SSE frames of the page's events; undefined when no event in it matched. */
  bytes: Buffer | undefined;
  /** Seq of the page's first event (0 when it has none): retention may since have deleted it. */
  first: number;
  /** Seq of the page's last event, or the cursor it was read after when it has none. */
  last: number;
  /** Where the next page starts: the store had more after this one. */
  next: number;
}

/**
 * Pages of history that a replaying reader just read from the store, kept within a byte budget
 * for the readers that replay the same history right behind it: fifty consoles opening a channel
 * from its start, or every agent of a runner resuming from one cursor. Each page is then read
 * and serialized once and the same bytes go to all of them, as the tail does for live events;
 * without it each reader reads and serializes its own copy, and the copies of readers whose
 * sockets take megabytes at once wait for a garbage collection (hundreds of MB for fifty of them).
 *
 * Only whole pages are kept (the store had more after them): their events are committed and
 * final, because seq order is commit order in both stores. The last page of a replay is always
 * read again, and where it ends the reader joins the tail. A page is keyed by everything that
 * decides its content (org, filter, cursor, page size); pages whose first event retention has
 * since deleted are not served. Oldest first out.
 */
export class ReplayPages {
  readonly #maxBytes: number;
  readonly #pages = new Map<string, ReplayPage>();
  #bytes = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** The page read after `after` with this filter and page size. */
  static key(org: string, filter: EventFilter, after: number, pageBytes: number): string {
    return `${org}\n${JSON.stringify(filter)}\n${after}\n${pageBytes}`;
  }

  /** The page of `key`, unless retention deleted events from it (`oldest`: the lowest seq kept). */
  get(key: string, oldest: number): ReplayPage | undefined {
    const page = this.#pages.get(key);
    if (page === undefined || page.first >= oldest) return page;
    this.#forget(key, page);
    return undefined;
  }

  add(key: string, page: ReplayPage): void {
    const size = sizeOf(key, page);
    if (size > this.#maxBytes || this.#pages.has(key)) return;
    this.#pages.set(key, page);
    this.#bytes += size;
    for (const [oldKey, old] of this.#pages) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#forget(oldKey, old);
    }
  }

  #forget(key: string, page: ReplayPage): void {
    this.#pages.delete(key);
    this.#bytes -= sizeOf(key, page);
  }
}

/**
 * A page's bytes plus its key and bookkeeping, so pages in which nothing matched (a scan
 * window of a filter that finds little) count too, and their number stays bounded.
 */
function sizeOf(key: string, page: ReplayPage): number {
  return (page.bytes?.length ?? 0) + key.length + 64;
}
