/** Concurrent streams per API key, against `maxStreamsPerKey`. */
export class StreamCap {
  readonly #open = new Map<string, number>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  get max(): number {
    return this.#max;
  }

  /** Count one more stream for `keyId`; undefined when the key is at its cap. */
  acquire(keyId: string): (() => void) | undefined {
    const open = this.#open.get(keyId) ?? 0;
    if (open >= this.#max) return undefined;
    this.#open.set(keyId, open + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#open.get(keyId) ?? 1) - 1;
      if (left > 0) this.#open.set(keyId, left);
      else this.#open.delete(keyId);
    };
  }
}
