import type { EmitEvent } from "../event-builder.js";
import type { TraceIdPool } from "../ids.js";
import type { TraceContext } from "../trace.js";
import type { Safely } from "./safely.js";

/** The ids an event carries: which trace, which span, under which parent, for which intent. */
export interface SpanRef {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  intentId?: string;
  agent?: string;
}

/** The part of a Chorus client an adapter uses; a stub with `emit` is enough in tests. */
export interface EventSink {
  emit(event: EmitEvent): unknown;
}

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

export interface SpanRecorderOptions {
  sink: EventSink;
  /** `metadata.framework` of every event: `"anthropic"`, `"ai-sdk"`, … */
  framework: string;
  channel?: string | undefined;
  /** The adapter's `agent` option; a span's own agent (an intent handler's) wins. */
  agent?: string | undefined;
  safely: Safely;
}

/**
 * The one place an adapter's events leave it. Each event names its span explicitly instead of
 * relying on the async context at emit time: a response is often parsed, a stream read or the
 * next step of a loop made in another context than the call's, and the event must still land
 * in the call's trace. Every emit runs under the adapter's guard.
 */
export class SpanRecorder {
  readonly #sink: EventSink;
  readonly #framework: string;
  readonly #channel: string | undefined;
  readonly #agent: string | undefined;
  readonly safely: Safely;

  constructor(options: SpanRecorderOptions) {
    this.#sink = options.sink;
    this.#framework = options.framework;
    this.#channel = options.channel;
    this.#agent = options.agent;
    this.safely = options.safely;
  }

  emit(type: string, span: SpanRef, payload: object, metadata: Record<string, unknown> = {}): void {
    this.safely(type, () => {
      const event: EmitEvent = {
        type,
        traceId: span.traceId,
        spanId: span.spanId,
        payload: payload as Record<string, unknown>,
        metadata: { framework: this.#framework, ...metadata },
      };
      if (span.parentSpanId !== undefined) event.parentSpanId = span.parentSpanId;
      if (span.intentId !== undefined) event.intentId = span.intentId;
      const agent = span.agent ?? this.#agent;
      if (agent !== undefined) event.agent = agent;
      if (this.#channel !== undefined) event.channel = this.#channel;
      this.#sink.emit(event);
    });
  }
}
