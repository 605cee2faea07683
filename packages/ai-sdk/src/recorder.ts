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

export const FRAMEWORK = "ai-sdk";

/**
 * The one place events leave the adapter. Each event names its span explicitly: a stream is
 * read, and the next step of a tool loop made, in other async contexts than the call's, and the
 * event must still land in the call's trace.
 */
export class Recorder {
  readonly #sink: EventSink;
  readonly #channel: string | undefined;
  readonly #agent: string | undefined;
  readonly safely: Safely;

  constructor(options: { sink: EventSink; channel?: string; agent?: string; safely: Safely }) {
    this.#sink = options.sink;
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
        metadata: { framework: FRAMEWORK, ...metadata },
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
