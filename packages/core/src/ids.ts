import { randomBytes } from "node:crypto";
import { v7 as uuidv7 } from "uuid";

/**
 * Event ids are UUIDv7: time-ordered (so the hub's index stays append-friendly) and unique
 * without coordination, which makes them the idempotency key of every retried publish.
 */
export function newEventId(): string {
  return uuidv7();
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
    const hex = randomBytes(bytes).toString("hex");
    // An all-zero id is invalid in W3C trace-context; the odds are 2^-64 or less, but it is free to check.
    if (!/^0+$/.test(hex)) return hex;
  }
}
