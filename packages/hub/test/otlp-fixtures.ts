import { readFileSync } from "node:fs";
import type { OtelAttributes, OtelSpan } from "@chorus/protocol";
import { ROOT_CONTEXT, type SpanKind, trace, TraceFlags } from "@opentelemetry/api";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  type IdGenerator,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";

/**
 * Spans of `@chorus/otel`'s fixtures (packages/otel/test/fixtures): recorded from the real SDKs by
 * its scripts/record-fixtures.ts (the Vercel AI SDK's `ai.*` spans, OpenInference's LangChain
 * instrumentation, OpenTelemetry's OpenAI instrumentation with `gen_ai.*` conventions), and
 * `gen-ai-semconv`, written by hand to cover the conventions' agent and tool spans and content
 * attributes that no instrumentation on Node 20 emits yet. Read from there so both packages test
 * against the same spans.
 */
export const FIXTURES = [
  "ai-sdk-6",
  "gen-ai-semconv",
  "openinference-langchain",
  "openai-instrumentation",
] as const;

export interface RecordedSpan {
  name: string;
  kind?: number;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  startTime: [number, number];
  endTime: [number, number];
  status: { code: number; message?: string };
  attributes: OtelAttributes;
  events: { name: string; time: [number, number]; attributes?: OtelAttributes }[];
  scope: string;
}

export function loadRecorded(name: (typeof FIXTURES)[number]): RecordedSpan[] {
  const url = new URL(`../../otel/test/fixtures/${name}.json`, import.meta.url);
  return JSON.parse(readFileSync(url, "utf8")) as RecordedSpan[];
}

/**
 * The same spans in a trace of their own: the first four hex characters of every trace id become
 * `tag`'s, so one hub can receive one recording several times without the copies being duplicates.
 */
export function retrace(spans: readonly RecordedSpan[], tag: number): RecordedSpan[] {
  const prefix = tag.toString(16).padStart(4, "0");
  return spans.map((s) => ({ ...s, traceId: prefix + s.traceId.slice(4) }));
}

const ms = ([s, ns]: [number, number]) => s * 1000 + ns / 1e6;

/** A recorded span as the in-process path hands it to the mapping (what `toOtelSpan` builds). */
export function asOtelSpan(s: RecordedSpan, resource?: OtelAttributes): OtelSpan {
  return {
    name: s.name,
    traceId: s.traceId,
    spanId: s.spanId,
    ...(s.parentSpanId && { parentSpanId: s.parentSpanId }),
    startTimeMs: ms(s.startTime),
    endTimeMs: ms(s.endTime),
    attributes: s.attributes,
    status: s.status,
    events: s.events.map((e) => ({
      name: e.name,
      timeMs: ms(e.time),
      ...(e.attributes && { attributes: e.attributes }),
    })),
    ...(resource && { resource }),
    scope: s.scope,
  };
}

/**
 * A real `NodeTracerProvider` (not registered globally) that re-records spans with their original ids, times, attributes,
 * events and status: an id generator hands out the recorded ids and a remote parent context
 * carries the recorded parent. What it exports is what an instrumented app would export.
 */
export class Replayer {
  readonly provider: NodeTracerProvider;
  #next: RecordedSpan | undefined;

  constructor(processors: SpanProcessor[], resource: OtelAttributes = {}) {
    const ids: IdGenerator = {
      generateTraceId: () => this.#current().traceId,
      generateSpanId: () => this.#current().spanId,
    };
    this.provider = new NodeTracerProvider({
      idGenerator: ids,
      spanProcessors: processors,
      resource: resourceFromAttributes(resource as Record<string, string>),
    });
  }

  replay(spans: readonly RecordedSpan[]): void {
    for (const s of spans) {
      this.#next = s;
      const tracer = this.provider.getTracer(s.scope);
      const parent = s.parentSpanId
        ? trace.setSpanContext(ROOT_CONTEXT, {
            traceId: s.traceId,
            spanId: s.parentSpanId,
            traceFlags: TraceFlags.SAMPLED,
            isRemote: true,
          })
        : ROOT_CONTEXT;
      const span = tracer.startSpan(
        s.name,
        {
          startTime: s.startTime,
          attributes: s.attributes as Record<string, string>,
          kind: (s.kind ?? 0) as SpanKind,
        },
        parent,
      );
      for (const e of s.events)
        span.addEvent(e.name, e.attributes as Record<string, string>, e.time);
      span.setStatus(s.status);
      span.end(s.endTime);
      this.#next = undefined;
    }
  }

  #current(): RecordedSpan {
    if (!this.#next) throw new Error("Replayer: a span was started outside replay()");
    return this.#next;
  }
}

/** Replay into memory and return the SDK's ReadableSpans (what an exporter serializes). */
export function recordedReadableSpans(
  spans: readonly RecordedSpan[],
  resource?: OtelAttributes,
): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const replayer = new Replayer([new SimpleSpanProcessor(memory)], resource);
  replayer.replay(spans);
  return memory.getFinishedSpans();
}
