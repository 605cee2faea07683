import { createHash } from "node:crypto";

/*
 * SDK ids are `trace_<32 hex>` and `span_<24 hex>` by default, but `setTracingIdGenerator` lets a
 * user pick anything. Chorus needs W3C ids (32 and 16 lowercase hex). The mapping is a pure
 * function of the SDK id, so a span's start, its end, its children and the hooks that fire inside
 * it all arrive at the same Chorus id without a lookup table that could be evicted mid-run.
 */

const SDK_TRACE_ID = /^trace_([0-9a-f]{32})$/;
const SDK_SPAN_ID = /^span_([0-9a-f]{24})$/;
const ALL_ZERO = /^0+$/;

/** The Chorus trace id of an SDK trace: its own hex when it has the default form, else a hash. */
export function toTraceId(sdkTraceId: string): string {
  const match = SDK_TRACE_ID.exec(sdkTraceId);
  if (match?.[1] && !ALL_ZERO.test(match[1])) return match[1];
  return nonZero(hash(`trace:${sdkTraceId}`).slice(0, 32));
}

/**
 * The Chorus span id of an SDK span. A default SDK span id is the first 24 hex digits of a UUIDv4:
 * dropping the version digit (12) and the variant digit (16) leaves 16 fully random ones, taken
 * as they are (a hash per span showed up in the benchmark). Anything else is hashed.
 */
export function toSpanId(sdkSpanId: string): string {
  if (SDK_SPAN_ID.test(sdkSpanId)) {
    // `span_` is 5 characters: the version digit is at 17, the variant digit at 21.
    const hex = sdkSpanId.slice(5, 17) + sdkSpanId.slice(18, 21) + sdkSpanId.charAt(22);
    return nonZero(hex);
  }
  return nonZero(hash(`span:${sdkSpanId}`).slice(0, 16));
}

function hash(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}

/** W3C forbids all-zero ids; a hash that happens to be zero gets one bit set. */
function nonZero(hex: string): string {
  return ALL_ZERO.test(hex) ? `${hex.slice(0, -1)}1` : hex;
}
