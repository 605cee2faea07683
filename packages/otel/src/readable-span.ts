import type { OtelAttributes, OtelSpan } from "@chorus/protocol";
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

export function toOtelSpan(span: ReadableSpan, ended: boolean): OtelSpan {
  const sdk = span as AnySdkSpan;
  const context = span.spanContext();
  const parentSpanId = sdk.parentSpanContext?.spanId ?? sdk.parentSpanId;
  const scope = sdk.instrumentationScope?.name ?? sdk.instrumentationLibrary?.name;
  return {
    name: span.name,
    traceId: context.traceId,
    spanId: context.spanId,
    ...(parentSpanId && { parentSpanId }),
    startTimeMs: hrTimeToMs(span.startTime),
    ...(ended && { endTimeMs: hrTimeToMs(span.endTime) }),
    attributes: span.attributes as OtelAttributes,
    status: span.status,
    events: span.events.map((e) => ({
      name: e.name,
      timeMs: hrTimeToMs(e.time),
      ...(e.attributes && { attributes: e.attributes as OtelAttributes }),
    })),
    ...(span.resource?.attributes && { resource: span.resource.attributes as OtelAttributes }),
    ...(scope && { scope }),
  };
}

export function hrTimeToMs(time: HrTime | undefined): number {
  if (!time) return Number.NaN;
  return time[0] * 1000 + time[1] / 1e6;
}
