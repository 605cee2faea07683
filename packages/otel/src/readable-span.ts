import type { OtelAttributes, OtelSpan, OtelSpanEvent } from "@chorus/protocol";
import type { HrTime } from "@opentelemetry/api";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";

/**
 * The SDK's span as the mapping reads it. Fields differ between SDK 1.x (`parentSpanId`,
 * `instrumentationLibrary`) and 2.x (`parentSpanContext`, `instrumentationScope`); both are read.
 */
type AnySdkSpan = ReadableSpan & {
  parentSpanId?: string;
  instrumentationLibrary?: { name?: string };
};

const NO_EVENTS: readonly OtelSpanEvent[] = [];

/** Built field by field (no conditional spreads): it runs on `span.end()`'s path. */
export function toOtelSpan(span: ReadableSpan, ended: boolean): OtelSpan {
  const sdk = span as AnySdkSpan;
  const context = span.spanContext();
  const out: OtelSpan = {
    name: span.name,
    traceId: context.traceId,
    spanId: context.spanId,
    startTimeMs: hrTimeToMs(span.startTime),
    attributes: span.attributes as OtelAttributes,
    status: span.status,
    events: span.events.length === 0 ? NO_EVENTS : span.events.map(toOtelEvent),
  };
  const parentSpanId = sdk.parentSpanContext?.spanId ?? sdk.parentSpanId;
  if (parentSpanId) out.parentSpanId = parentSpanId;
  if (ended) out.endTimeMs = hrTimeToMs(span.endTime);
  const resource = span.resource?.attributes;
  if (resource) out.resource = resource as OtelAttributes;
  const scope = sdk.instrumentationScope?.name ?? sdk.instrumentationLibrary?.name;
  if (scope) out.scope = scope;
  return out;
}

function toOtelEvent(e: ReadableSpan["events"][number]): OtelSpanEvent {
  const event: OtelSpanEvent = { name: e.name, timeMs: hrTimeToMs(e.time) };
  if (e.attributes) event.attributes = e.attributes as OtelAttributes;
  return event;
}

export function hrTimeToMs(time: HrTime | undefined): number {
  if (!time) return Number.NaN;
  return time[0] * 1000 + time[1] / 1e6;
}
