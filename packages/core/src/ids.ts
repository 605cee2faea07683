import { fillRandom, formatUuid } from "./platform.js";

/** Random bytes fetched per refill of an id generator's pool: one syscall per ~400 event ids. */
const POOL_BYTES = 4096;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/**
 * UUIDv7 event ids (RFC 9562): 48-bit millisecond time, a 12-bit counter that keeps ids of one
 * generator strictly increasing within a millisecond (method 1 of the RFC), 62 random bits.
 * Time-ordered ids keep the hub's index append-friendly; uniqueness without coordination makes
 * them the idempotency key of every retried publish.
 *
 * One generator per client (no module state). It draws randomness from a pooled buffer: about
 * five times cheaper per id than a fresh `crypto` call, which matters on `emit()`'s hot path.
 */
export class EventIdGenerator {
  readonly #pool = new Uint8Array(POOL_BYTES);
  #offset = POOL_BYTES;
  #lastMs = -1;
  #counter = 0;
  /** The id's 16 bytes, rewritten by every {@link next}. */
  readonly #bytes = new Uint8Array(16);

  next(now: number = Date.now()): string {
    if (this.#offset + 10 > POOL_BYTES) {
      fillRandom(this.#pool);
      this.#offset = 0;
    }
    const pool = this.#pool;
    const o = this.#offset;
    this.#offset += 10;
    let ms = now;
    if (ms > this.#lastMs) {
      this.#lastMs = ms;
      // A random start in the lower half leaves room to count up within the millisecond.
      this.#counter = ((pool[o] as number) << 3) | ((pool[o + 1] as number) & 0x07);
    } else {
      ms = this.#lastMs;
      this.#counter++;
      if (this.#counter > 0xfff) {
        // 2048+ ids in one millisecond: borrow the next one, as the RFC allows.
        this.#lastMs = ++ms;
        this.#counter = 0;
      }
    }
    const hi = Math.floor(ms / 0x1000000);
    const lo = ms % 0x1000000;
    const c = this.#counter;
    const b = this.#bytes;
    b[0] = hi >>> 16;
    b[1] = hi >>> 8;
    b[2] = hi;
    b[3] = lo >>> 16;
    b[4] = lo >>> 8;
    b[5] = lo;
    b[6] = 0x70 | (c >>> 8);
    b[7] = c;
    b[8] = 0x80 | ((pool[o + 2] as number) & 0x3f);
    for (let i = 9; i < 16; i++) b[i] = pool[o + i - 6] as number;
    // Node writes the digits as one string (`formatUuid` in platform.ts); a page joins pieces.
    const format = formatUuid;
    return format
      ? format(b)
      : toHex(b, 0, 16).replace(/^(.{8})(.{4})(.{4})(.{4})/, "$1-$2-$3-$4-");
  }
}

const oneOffIds = new EventIdGenerator();

/** A UUIDv7 for one-off ids outside a client's hot path. */
export function newEventId(): string {
  return oneOffIds.next();
}

/** W3C trace-id: 16 random bytes as 32 lowercase hex characters, never all zero. */
export function newTraceId(): string {
  return nonZeroHex(16);
}

/** W3C span-id: 8 random bytes as 16 lowercase hex characters, never all zero. */
export function newSpanId(): string {
  return nonZeroHex(8);
}

function nonZeroHex(bytes: number): string {
  for (;;) {
    const random = new Uint8Array(bytes);
    fillRandom(random);
    const hex = toHex(random, 0, bytes);
    // An all-zero id is invalid in W3C trace-context; the odds are 2^-64 or less, but it is free to check.
    if (!/^0+$/.test(hex)) return hex;
  }
}

/**
 * W3C trace and span ids from a pool of cryptographically random bytes: one `crypto` call per
 * ~500 span ids, where a fresh `randomBytes()` per id costs microseconds on the path of every
 * LLM or tool call an adapter observes. One pool per adapter instance (no module state); every
 * byte is read once, so ids are never reused.
 */
export class TraceIdPool {
  readonly #pool = new Uint8Array(POOL_BYTES);
  #offset = POOL_BYTES;

  /** 32 lowercase hex characters, never all zero. */
  traceId(): string {
    return this.#hex(16);
  }

  /** 16 lowercase hex characters, never all zero. */
  spanId(): string {
    return this.#hex(8);
  }

  #hex(bytes: number): string {
    for (;;) {
      if (this.#offset + bytes > POOL_BYTES) {
        fillRandom(this.#pool);
        this.#offset = 0;
      }
      const start = this.#offset;
      this.#offset += bytes;
      // An all-zero id is invalid in W3C trace-context (odds 2^-64 or less, and free to check).
      for (let i = start; i < start + bytes; i++) {
        if (this.#pool[i] !== 0) return toHex(this.#pool, start, start + bytes);
      }
    }
  }
}

function toHex(bytes: Uint8Array, start: number, end: number): string {
  let hex = "";
  for (let i = start; i < end; i++) hex += HEX[bytes[i] as number];
  return hex;
}
