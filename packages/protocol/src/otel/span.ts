/**
 * A finished (or just started) OpenTelemetry span, reduced to what the GenAI mapping reads. Both
 * producers fill it: `@chorus/otel` from the SDK's `ReadableSpan`, the hub from a decoded OTLP
 * request. Keeping it a plain object is what lets one mapping serve both without either side
 * depending on the other's libraries.
 */
export type OtelAttributeValue =
  | string
  | number
  | boolean
  | readonly (string | number | boolean | null | undefined)[]
  | null
  | undefined;

export type OtelAttributes = Readonly<Record<string, OtelAttributeValue>>;

/** OTel's status codes: 0 unset, 1 ok, 2 error. */
export const OTEL_STATUS_ERROR = 2;

export interface OtelSpanEvent {
  name: string;
  timeMs?: number;
  attributes?: OtelAttributes;
}

export interface OtelSpan {
  name: string;
  /** 32 lowercase hex characters. */
  traceId: string;
  /** 16 lowercase hex characters. */
  spanId: string;
  parentSpanId?: string;
  /** Milliseconds since the epoch (fractions allowed). */
  startTimeMs: number;
  /** Absent while the span is still running. */
  endTimeMs?: number;
  attributes: OtelAttributes;
  status?: { code: number; message?: string };
  events?: readonly OtelSpanEvent[];
  /** Resource attributes (`service.name`, `chorus.channel`, …). */
  resource?: OtelAttributes;
  /** Instrumentation scope name, e.g. `ai` or `@arizeai/openinference-instrumentation-langchain`. */
  scope?: string;
}
