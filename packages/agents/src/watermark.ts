/**
 * The resume point of a runner that handles events out of seq order (different intents run
 * concurrently): the highest seq at or below which every accepted event has been handled.
 * Resuming a later runner with `{ after: value }` misses nothing.
 */
export class SeqWatermark {
  #value: number | undefined;
  /** Accepted seqs not yet retired, ascending (events are accepted in seq order). */
  #open: number[] = [];
  #head = 0;
  readonly #done = new Set<number>();

  constructor(start: number | undefined) {
    this.#value = start;
  }

  get value(): number | undefined {
    return this.#value;
  }

  accept(seq: number): void {
    this.#open.push(seq);
  }

  done(seq: number): void {
    this.#done.add(seq);
    while (this.#head < this.#open.length) {
      const next = this.#open[this.#head] as number;
      if (!this.#done.delete(next)) break;
      this.#value = next;
      this.#head++;
    }
    // Compact now and then instead of shifting on every retirement.
    if (this.#head > 1024 && this.#head * 2 > this.#open.length) {
      this.#open = this.#open.slice(this.#head);
      this.#head = 0;
    }
  }
}
