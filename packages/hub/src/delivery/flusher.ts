/** Anything with queued bytes to write once per tick. */
export interface Flushable {
  flush(): void;
}

/**
 * Collects the outboxes that received bytes during a tick and writes each once: one `write`
 * per connection per tick, however many events reached it. The tail flushes right after each
 * batch; the deferred pass catches writes made outside a batch (replay pages, pings).
 */
export class Flusher {
  #dirty = new Set<Flushable>();
  #scheduled = false;

  mark(outbox: Flushable): void {
    this.#dirty.add(outbox);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.flush();
    });
  }

  flush(): void {
    if (this.#dirty.size === 0) return;
    const dirty = this.#dirty;
    this.#dirty = new Set();
    for (const outbox of dirty) outbox.flush();
  }
}
