import type { Chorus, Logger } from "@chorus/core";
import {
  ATTRIBUTES,
  DEFAULT_SPAN_STRING_LENGTH,
  type MapOptions,
  type MappedEvent,
  mapSpanEnd,
  mapSpanStart,
} from "@chorus/protocol";
import type { Context } from "@opentelemetry/api";
import type { ReadableSpan, Span, SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { toOtelSpan } from "./readable-span.js";
import {
  type AdapterOnError,
  createSafely,
  resolveAdapterLogger,
  type Safely,
} from "@chorus/core/adapter-kit";
import { installOtelTraceSource } from "./trace-source.js";

export interface ChorusSpanProcessorOptions {
  /** The client that delivers the events. The processor never closes it. */
  chorus: Chorus;
  /** Channel of the events; default the resource attribute `chorus.channel`, then the client's channel. */
  channel?: string;
  /** Strings read from span attributes are cut at this length (default 4096). */
  maxStringLength?: number;
  /**
   * Make an active OTel span the trace of `chorus.emit()` calls made inside it (default true).
   * Process-wide: it registers a trace source in `@chorus/core`.
   */
  linkEmits?: boolean;
  /** Called with errors of the processor's own (never thrown into the SDK). */
  onError?: AdapterOnError;
  /** Diagnostics; `false` silences them. Default: the console. */
  logger?: Logger | false;
}

/** Wait this long in `forceFlush()` for the client to deliver. */
const FLUSH_TIMEOUT_MS = 5000;
/**
 * GenAI spans whose start event went out and that have not ended, remembered so their end does
 * not map the start again. Past this bound the oldest is forgotten: its end then sends the start
 * event once more, which the hub stores once (same id), so a leak of never-ended spans costs
 * nothing but this bound: span ids are remembered, not spans (a span pinned here would keep its
 * attributes, prompts included, alive after the app let go of it).
 */
export const MAX_OPEN_SPANS = 2048;

/**
 * An OpenTelemetry `SpanProcessor` that turns GenAI spans (OTel `gen_ai.*` conventions, the Vercel
 * AI SDK's `ai.*` spans, OpenInference) into Chorus events, live and in-process: a start event when
 * the span starts, an end or error event when it ends, with the span's own trace and span ids.
 * Other spans are ignored. It never throws into the SDK and never waits: `chorus.emit()` only queues.
 *
 * @example
 * import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
 * import { ChorusSpanProcessor } from "@chorus/otel";
 *
 * const provider = new NodeTracerProvider({
 *   spanProcessors: [new ChorusSpanProcessor({ chorus, channel: "research" })],
 * });
 * provider.register();
 */
export class ChorusSpanProcessor implements SpanProcessor {
  readonly #chorus: Chorus;
  readonly #channel: string | undefined;
  readonly #mapOptions: MapOptions;
  readonly #safely: Safely;
  /** Span ids, see {@link MAX_OPEN_SPANS}; a Set in start order (a WeakSet costs more than the mapping saves). */
  readonly #open = new Set<string>();
  readonly #uninstall: (() => void) | undefined;
  /** The specification has a processor ignore every call after `shutdown()`, as the SDK's own do. */
  #shutDown = false;

  constructor(options: ChorusSpanProcessorOptions) {
    this.#chorus = options.chorus;
    this.#channel = options.channel;
    this.#mapOptions = {
      maxStringLength: options.maxStringLength ?? DEFAULT_SPAN_STRING_LENGTH,
    };
    this.#safely = createSafely({
      name: "@chorus/otel",
      onError: options.onError,
      logger: resolveAdapterLogger(options.logger, options.chorus),
    });
    this.#uninstall =
      options.linkEmits === false ? undefined : this.#safely("install", installOtelTraceSource);
  }

  onStart(span: Span, _parentContext: Context): void {
    if (this.#shutDown) return;
    this.#safely("onStart", () => {
      const event = mapSpanStart(toOtelSpan(span, false), this.#mapOptions);
      if (!event) return;
      const open = this.#open;
      if (open.size >= MAX_OPEN_SPANS) open.delete(open.values().next().value as string);
      open.add(event.spanId);
      this.#emit(event, span);
    });
  }

  onEnd(span: ReadableSpan): void {
    if (this.#shutDown) return;
    this.#safely("onEnd", () => {
      const otel = toOtelSpan(span, true);
      // Attributes set after start (some instrumentations classify late) still get a start event.
      if (!this.#open.delete(otel.spanId)) {
        const start = mapSpanStart(otel, this.#mapOptions);
        if (start) this.#emit(start, span);
      }
      const end = mapSpanEnd(otel, this.#mapOptions);
      if (end) this.#emit(end, span);
    });
  }

  async forceFlush(): Promise<void> {
    if (this.#shutDown) return;
    await this.#chorus.flush(FLUSH_TIMEOUT_MS).catch(() => false);
  }

  /** Drains within the client's `drainTimeoutMs`; the client stays open for its other users. */
  async shutdown(): Promise<void> {
    if (this.#shutDown) return;
    this.#shutDown = true;
    this.#open.clear();
    this.#uninstall?.();
    try {
      await this.#chorus.drain();
    } catch {
      // drain() never rejects by contract; a replaced or wrapped client is not trusted to keep it.
    }
  }

  #emit(event: MappedEvent, span: ReadableSpan): void {
    const channel = this.#channel ?? channelOf(span);
    this.#chorus.emit(channel === undefined ? event : { ...event, channel });
  }
}

function channelOf(span: ReadableSpan): string | undefined {
  const value = span.resource?.attributes?.[ATTRIBUTES.channel[0]];
  return typeof value === "string" && value !== "" ? value : undefined;
}
