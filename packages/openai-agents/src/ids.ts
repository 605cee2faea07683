import { createHash } from "node:crypto";

/*
 * SDK ids are `trace_<32 hex>` and `span_<24 hex>` by default, but `setTracingIdGenerator` lets a
 * user pick anything. Chorus needs W3C ids (32 and 16 lowercase hex). The mapping is a pure
 * function of the SDK id, so a span's start, its end, its children and the hooks that fire inside
 * it all arrive at the same Chorus id without a lookup table that could be evicted mid-run.
 */

const SDK_TRACE_ID = /^trace_([0-9a-f]{32})$/;
const ALL_ZERO = /^0+$/;

/** The Chorus trace id of an SDK trace: its own hex when it has the default form, else a hash. */
export function toTraceId(sdkTraceId: string): string {
  const match = SDK_TRACE_ID.exec(sdkTraceId);
  if (match?.[1] && !ALL_ZERO.test(match[1])) return match[1];
  return nonZero(hash(`trace:${sdkTraceId}`).slice(0, 32));
}

/**
 * The Chorus span id of an SDK span. Hashed rather than cut from the SDK id: 16 of its 24 hex
 * digits would include the UUID version nibble, and a custom generator may produce anything.
 */
export function toSpanId(sdkSpanId: string): string {
  return nonZero(hash(`span:${sdkSpanId}`).slice(0, 16));
}

function hash(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}

/** W3C forbids all-zero ids; a hash that happens to be zero gets one bit set. */
function nonZero(hex: string): string {
  return ALL_ZERO.test(hex) ? `${hex.slice(0, -1)}1` : hex;
}
