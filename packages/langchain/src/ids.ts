import { randomFillSync } from "node:crypto";

/**
 * Random bytes drawn per refill: 4 KiB feeds ~500 span ids per system call, where
 * `randomBytes(8)` per id was the largest single cost of opening a run.
 */
export const ID_POOL_BYTES = 4096;

/**
 * W3C trace and span ids from a pool of cryptographically random bytes. One pool per handler
 * (no module state); ids are never reused since every byte is read once.
 */
export class IdPool {
  readonly #pool = Buffer.allocUnsafe(ID_POOL_BYTES);
  #offset = ID_POOL_BYTES;

  /** 16 lowercase hex characters, never all zero. */
  spanId(): string {
    return this.#hex(8);
  }

  /** 32 lowercase hex characters, never all zero. */
  traceId(): string {
    return this.#hex(16);
  }

  #hex(bytes: number): string {
    for (;;) {
      if (this.#offset + bytes > ID_POOL_BYTES) {
        randomFillSync(this.#pool);
        this.#offset = 0;
      }
      const start = this.#offset;
      this.#offset += bytes;
      // An all-zero id is invalid in W3C trace-context (odds 2^-64 or less, and free to check).
      for (let i = start; i < start + bytes; i++) {
        if (this.#pool[i] !== 0) return this.#pool.toString("hex", start, start + bytes);
      }
    }
  }
}
