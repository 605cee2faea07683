import type { TraceContext, TraceIdPool } from "@chorus/core";
import type { SpanRef } from "./recorder.js";

/**
 * A new span under `parent` (core's `currentTrace()`): inside a trace (an intent handler,
 * `withTrace`) a child of its span that keeps its intent and agent; outside, a new trace. The
 * same rule as core's `spanFrom(parent)`, with pooled ids.
 */
export function spanUnder(ids: TraceIdPool, parent: TraceContext | undefined): SpanRef {
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
