import type { EmitEvent } from "@chorus/core";
import type { Safely } from "@chorus/core/adapter-kit";

/** The ids an event carries: which trace, which span, under which parent, for which intent. */
export interface SpanRef {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  intentId?: string;
  agent?: string;
}

/** The part of a Chorus client the adapter uses; a stub with `emit` is enough in tests. */
export interface EventSink {
  emit(event: EmitEvent): unknown;
}

export const FRAMEWORK = "anthropic";

/**
 * The one place events leave the adapter. Each event names its span explicitly instead of
 * relying on the async context at emit time: a response is often parsed, or a stream read, in
 * another context than the one the call was made in, and the event must still land in the
 * call's trace.
 */
export class Recorder {
  readonly #sink: EventSink;
  readonly #channel: string | undefined;
  readonly #agent: string | undefined;
  readonly #safely: Safely;

  constructor(options: { sink: EventSink; channel?: string; agent?: string; safely: Safely }) {
    this.#sink = options.sink;
    this.#channel = options.channel;
    this.#agent = options.agent;
    this.#safely = options.safely;
  }

  get safely(): Safely {
    return this.#safely;
  }

  /** The agent of an event: the trace's (an intent handler's) first, then this wrapper's option. */
  agentFor(span: SpanRef): string | undefined {
    return span.agent ?? this.#agent;
  }

  emit(type: string, span: SpanRef, payload: object, metadata: Record<string, unknown> = {}): void {
    this.#safely(type, () => {
      const event: EmitEvent = {
        type,
        traceId: span.traceId,
        spanId: span.spanId,
        payload: payload as Record<string, unknown>,
        metadata: { framework: FRAMEWORK, ...metadata },
      };
      if (span.parentSpanId !== undefined) event.parentSpanId = span.parentSpanId;
      if (span.intentId !== undefined) event.intentId = span.intentId;
      const agent = this.agentFor(span);
      if (agent !== undefined) event.agent = agent;
      if (this.#channel !== undefined) event.channel = this.#channel;
      this.#sink.emit(event);
    });
  }
}
