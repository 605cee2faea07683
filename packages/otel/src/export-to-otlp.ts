import { type Chorus, createConsoleLogger, type Logger } from "@chorus/core";
import { type AdapterOnError, createSafely } from "@chorus/core/adapter-kit";
import type { ChorusEvent } from "@chorus/protocol";
import type { AttributeValue } from "@opentelemetry/api";
import {
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from "@opentelemetry/sdk-trace-base";
import { phaseOf, type SpanSource, spanFromEvents } from "./span-from-events.js";

export interface ExportToOtlpOptions {
  /** The client whose SSE stream is followed (`chorus.stream.channel`). It is not closed. */
  chorus: Chorus;
  /** The channel to export. */
  channel: string;
  /**
   * An OpenTelemetry `SpanExporter`, e.g. `new OTLPTraceExporter({ url })` from
   * `@opentelemetry/exporter-trace-otlp-proto`: it does the OTLP serialization and transport.
   */
  exporter: SpanExporter;
  /** Resume after this seq (e.g. `lastEventId` of a previous run); default: from now on. */
  after?: number;
  /** Resource attributes of the exported spans; `service.name` defaults to `chorus`. */
  resource?: Record<string, AttributeValue>;
  /** Started spans waiting for their end, at most (oldest dropped first). Default 10,000. */
  maxPendingSpans?: number;
  /** Bytes (JSON) of the events kept for open spans, at most (oldest span dropped first). Default 64 MiB. */
  maxPendingBytes?: number;
  /** Finished spans waiting for the exporter, at most (the batch processor's queue). Default 2048. */
  maxQueueSize?: number;
  /** Delay between exports, ms (default 1000). */
  scheduledDelayMillis?: number;
  /**
   * Called with each failed export (the collector down, refusing the key, answering 4xx/5xx;
   * context `{ operation: "export", spans }`) and with other errors of the exporter's own; never
   * thrown into your process.
   */
  onError?: AdapterOnError;
  /** Diagnostics; `false` silences them. Default: the console. */
  logger?: Logger | false;
}

export interface OtlpExportStats {
  /** Events read from the stream. */
  events: number;
  /** Spans handed to the batch processor. */
  spans: number;
  /** Started spans dropped unfinished: more than `maxPendingSpans` were open, or their events passed `maxPendingBytes`. */
  droppedPending: number;
  /** Started spans waiting for their end right now. */
  pending: number;
  /** Spans the exporter reported delivered. */
  exported: number;
  /** Spans in exports that failed (each failure also goes to `onError`). */
  failed: number;
}

export interface OtlpExport {
  /** Seq of the last event read: pass it as `after` to resume in a later run. */
  readonly lastEventId: number | undefined;
  stats(): OtlpExportStats;
  /** Export what is finished now (bounded by `timeoutMs`, default 5 s). Never rejects. */
  flush(timeoutMs?: number): Promise<void>;
  /** Stop following, export what is finished, shut the exporter down; within `timeoutMs`. */
  close(timeoutMs?: number): Promise<void>;
}

/** Open spans kept waiting for their end: a run with thousands of open tool calls still fits. */
export const DEFAULT_MAX_PENDING_SPANS = 10_000;
/**
 * Bytes of JSON kept for open spans (their start events and the events between): without it,
 * 10,000 never-ended starts of 256 KB each (the hub's event limit) would hold 2.5 GB.
 */
export const DEFAULT_MAX_PENDING_BYTES = 64 * 1024 * 1024;
/** Events of an open span kept as span events (`agent.message`, custom): a chatty span stays bounded. */
const MAX_EVENTS_PER_SPAN = 128;
const DEFAULT_TIMEOUT_MS = 5_000;
/** `ExportResultCode` of `@opentelemetry/core` (not a dependency for two constants). */
const EXPORT_SUCCESS = 0;
const EXPORT_FAILED = 1;

interface Pending {
  start: ChorusEvent;
  between: ChorusEvent[];
  /** JSON length of `start` and `between`, as counted against `maxPendingBytes`. */
  bytes: number;
}

/**
 * Open spans by `traceId:spanId`, in start order, under a count and a byte bound: past either,
 * the oldest go (their ends never came, or will come without a start and still make a span).
 */
class PendingSpans {
  readonly #map = new Map<string, Pending>();
  #bytes = 0;
  evicted = 0;

  constructor(
    readonly maxSpans: number,
    readonly maxBytes: number,
  ) {}

  get size(): number {
    return this.#map.size;
  }

  /** A repeated start replaces the old one and moves to the back. */
  start(key: string, event: ChorusEvent): void {
    this.take(key);
    const entry = { start: event, between: [], bytes: sizeOf(event) };
    this.#map.set(key, entry);
    this.#bytes += entry.bytes;
    this.#trim();
  }

  /** An event inside an open span, kept as a span event (up to {@link MAX_EVENTS_PER_SPAN}). */
  add(key: string, event: ChorusEvent): void {
    const open = this.#map.get(key);
    if (!open || open.between.length >= MAX_EVENTS_PER_SPAN) return;
    const bytes = sizeOf(event);
    open.between.push(event);
    open.bytes += bytes;
    this.#bytes += bytes;
    this.#trim();
  }

  take(key: string): Pending | undefined {
    const open = this.#map.get(key);
    if (open === undefined) return undefined;
    this.#map.delete(key);
    this.#bytes -= open.bytes;
    return open;
  }

  clear(): void {
    this.#map.clear();
    this.#bytes = 0;
  }

  #trim(): void {
    while (this.#map.size > this.maxSpans || (this.#bytes > this.maxBytes && this.#map.size > 0)) {
      const oldest = this.#map.keys().next();
      if (oldest.done) break;
      this.take(oldest.value);
      this.evicted++;
    }
  }
}

/** An event's size as JSON: what it holds in memory, near enough. */
function sizeOf(event: ChorusEvent): number {
  try {
    return JSON.stringify(event).length;
  } catch {
    return 0;
  }
}

/**
 * Export a channel's Chorus events as OTLP spans, for a collector, Langfuse, Phoenix or Jaeger.
 * It follows the channel's SSE stream (resuming after drops, from `after` if given), pairs each
 * start event with its end or error event by trace and span id, and hands the span, with GenAI
 * semantic-convention attributes, to `exporter` through the SDK's `BatchSpanProcessor`.
 *
 * Fail-open and bounded: open spans are capped (`maxPendingSpans`, oldest dropped first), finished
 * spans wait in the batch processor's bounded queue (dropped when the collector is down), and
 * nothing is thrown into your process.
 *
 * @example
 * import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
 * const otlp = exportToOtlp({
 *   chorus,
 *   channel: "research",
 *   exporter: new OTLPTraceExporter({ url: "http://localhost:4318/v1/traces" }),
 * });
 * // … later
 * await otlp.close();
 */
export function exportToOtlp(options: ExportToOtlpOptions): OtlpExport {
  const logger = options.logger === false ? undefined : (options.logger ?? createConsoleLogger());
  const safely = createSafely({ name: "@chorus/otel exporter", onError: options.onError, logger });
  const maxPending = Math.max(1, options.maxPendingSpans ?? DEFAULT_MAX_PENDING_SPANS);
  const maxPendingBytes = Math.max(0, options.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES);
  const counts = { events: 0, spans: 0, exported: 0, failed: 0 };
  /** Failures already reported by {@link reporting}: a flush that rejects with one is not reported twice. */
  const reported = new WeakSet<object>();
  const processor = new BatchSpanProcessor(
    reporting(options.exporter, counts, (error, spans) => {
      if (typeof error === "object" && error !== null) reported.add(error);
      safely.report(error, { operation: "export", spans });
    }),
    {
      maxQueueSize: options.maxQueueSize ?? 2048,
      scheduledDelayMillis: options.scheduledDelayMillis ?? 1000,
    },
  );
  const source: SpanSource = {
    resource: resourceOf({ "service.name": "chorus", ...options.resource }),
    scope: { name: "@chorus/otel" },
  };
  const stream = options.chorus.stream.channel(options.channel, {
    ...(options.after !== undefined && { after: options.after }),
  });
  const pending = new PendingSpans(maxPending, maxPendingBytes);

  const handle = (event: ChorusEvent) => {
    counts.events++;
    if (!event.traceId || !event.spanId) return;
    const key = `${event.traceId}:${event.spanId}`;
    const phase = phaseOf(event.type);
    if (phase?.phase === "start") {
      pending.start(key, event);
      return;
    }
    if (!phase) {
      pending.add(key, event);
      return;
    }
    const open = pending.take(key);
    const span = spanFromEvents(open?.start, event, source, open?.between);
    if (!span) return;
    counts.spans++;
    processor.onEnd(span as ReadableSpan);
  };

  const following = (async () => {
    try {
      for await (const event of stream) safely("event", () => handle(event));
    } catch (error) {
      // A permanent refusal (bad key, unknown channel): reported, never thrown.
      safely("stream", () => {
        throw error;
      });
    }
  })();

  const bounded = <T>(promise: Promise<T>, timeoutMs: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref?.();
      promise.then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        (error: unknown) => {
          clearTimeout(timer);
          if (!(typeof error === "object" && error !== null && reported.has(error)))
            safely.report(error, { operation: "export" });
          resolve();
        },
      );
    });

  let closing: Promise<void> | undefined;
  return {
    get lastEventId() {
      return stream.lastEventId;
    },
    stats: () => ({ ...counts, droppedPending: pending.evicted, pending: pending.size }),
    flush: (timeoutMs = DEFAULT_TIMEOUT_MS) => bounded(processor.forceFlush(), timeoutMs),
    close(timeoutMs = DEFAULT_TIMEOUT_MS) {
      closing ??= (async () => {
        stream.close();
        await bounded(following, timeoutMs);
        pending.clear();
        await bounded(processor.shutdown(), timeoutMs);
      })();
      return closing;
    },
  };
}

/**
 * The user's exporter, with each export's outcome counted and each failure reported. The batch
 * processor hands the failures of its scheduled exports to OpenTelemetry's global error handler,
 * which logs nothing unless an OTel diag logger is set: without this, a collector refusing every
 * export (a wrong key, a 404) would go unnoticed. A collector's partial success (spans it
 * rejected inside a 200) is not visible through the `SpanExporter` interface.
 */
function reporting(
  exporter: SpanExporter,
  counts: { exported: number; failed: number },
  onFailure: (error: unknown, spans: number) => void,
): SpanExporter {
  return {
    export(spans, done) {
      let answered = false;
      const answer: typeof done = (result) => {
        if (answered) return;
        answered = true;
        if (result.code === EXPORT_SUCCESS) {
          counts.exported += spans.length;
          done(result);
          return;
        }
        counts.failed += spans.length;
        // The same error object goes on to the batch processor, so a flush() rejecting with it
        // is known as reported.
        const error = result.error ?? new Error("the exporter reported a failed export");
        onFailure(error, spans.length);
        done({ code: result.code, error });
      };
      try {
        exporter.export(spans, answer);
      } catch (error) {
        answer({
          code: EXPORT_FAILED,
          error: error instanceof Error ? error : new Error(String(error)),
        });
      }
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
  };
}

/**
 * A resource as the exporters read it (`attributes`, `schemaUrl`), without depending on
 * `@opentelemetry/resources` (whose constructor differs between SDK 1.x and 2.x).
 */
function resourceOf(attributes: Record<string, AttributeValue>): ReadableSpan["resource"] {
  const resource = {
    attributes,
    asyncAttributesPending: false,
    schemaUrl: undefined,
    waitForAsyncAttributes: async () => {},
    getRawAttributes: () => Object.entries(attributes),
    merge: () => resource,
  };
  return resource as unknown as ReadableSpan["resource"];
}
