import { randomFillSync } from "node:crypto";
import type { TraceContext } from "@chorus/core";
import type { SpanRef } from "./recorder.js";

/**
 * Random bytes drawn per refill: 4 KiB serves 256 calls' trace and span ids with one call into
 * the CSPRNG. @chorus/core's `newSpanId()` asks for fresh bytes per id, which costs ~3 µs each;
 * on the caller's path of every LLM call that was the adapter's largest single cost.
 */
const POOL_BYTES = 4096;

/** W3C trace-context ids from a pooled CSPRNG buffer; one per wrapped client, nothing global. */
export class IdSource {
  readonly #pool = Buffer.allocUnsafe(POOL_BYTES);
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
        randomFillSync(this.#pool);
        this.#offset = 0;
      }
      const hex = this.#pool.toString("hex", this.#offset, this.#offset + bytes);
      this.#offset += bytes;
      // An all-zero id is invalid in W3C trace-context (odds 2^-64 or less, but free to check).
      if (!/^0+$/.test(hex)) return hex;
    }
  }
}

/**
 * A new span under `parent` (core's `currentTrace()`): inside a trace (an intent handler,
 * `withTrace`) a child of its span that keeps its intent and agent; outside, a new trace. The
 * same rule as core's `spanFrom(parent)`, with pooled ids.
 */
export function spanUnder(ids: IdSource, parent: TraceContext | undefined): SpanRef {
  if (parent === undefined) return { traceId: ids.traceId(), spanId: ids.spanId() };
  const span: SpanRef = {
    traceId: parent.traceId,
    spanId: ids.spanId(),
    parentSpanId: parent.spanId,
  };
  if (parent.intentId !== undefined) span.intentId = parent.intentId;
  if (parent.agent !== undefined) span.agent = parent.agent;
  return span;
}
