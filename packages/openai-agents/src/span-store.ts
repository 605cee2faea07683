import { currentTrace } from "@chorus/core";
import type { Span, SpanData } from "@openai/agents";
import { BoundedMap } from "@chorus/core/adapter-kit";
import { toSpanId, toTraceId } from "./ids.js";
import {
  MAX_OPEN_SPANS,
  MAX_OPEN_TRACES,
  MAX_SWEPT_SPANS,
  type SpanRecord,
  type TraceRecord,
} from "./span-map.js";

type Bag = Record<string, unknown>;
export type AnySpan = Span<SpanData>;

/** Span types whose start waits for data the SDK fills in after `start()`. */
export const DEFERRED_START_KINDS: ReadonlySet<string> = new Set([
  "generation",
  "response",
  "function",
]);
/** Span trees are a few levels deep; the walk stops here if a parent chain is ever corrupted. */
export const MAX_ANCESTOR_WALK = 64;

/**
 * The open SDK spans and traces, bounded, and how they map onto Chorus: which trace a span
 * belongs to (its own, or the Chorus trace the run was started in), its Chorus ids, the agent it
 * runs in, and which ancestor a child hangs from.
 */
export class SpanStore {
  /**
   * Open spans, oldest first, at most {@link MAX_OPEN_SPANS}: past it the oldest (most likely
   * leaked) goes. A plain map rather than core's `BoundedMap`, which cannot be iterated: a
   * cancelled run's trace end looks for the spans of that run the SDK left open.
   */
  readonly #spans = new Map<string, SpanRecord>();
  #evictedSpans = 0;
  readonly #traces = new BoundedMap<string, TraceRecord>(MAX_OPEN_TRACES);
  readonly #swept = new BoundedMap<string, true>(MAX_SWEPT_SPANS);

  get sizes(): { spans: number; traces: number; evicted: number } {
    return {
      spans: this.#spans.size,
      traces: this.#traces.size,
      evicted: this.#evictedSpans + this.#traces.evicted,
    };
  }

  get(sdkSpanId: string | null | undefined): SpanRecord | undefined {
    return sdkSpanId ? this.#spans.get(sdkSpanId) : undefined;
  }

  add(record: SpanRecord): void {
    const spans = this.#spans;
    spans.delete(record.sdkSpanId);
    spans.set(record.sdkSpanId, record);
    if (spans.size <= MAX_OPEN_SPANS) return;
    const oldest = spans.keys().next();
    if (!oldest.done) spans.delete(oldest.value);
    this.#evictedSpans++;
  }

  delete(sdkSpanId: string): void {
    this.#spans.delete(sdkSpanId);
  }

  /** Remove and return an open span: a second `take` (a duplicated end) finds nothing. */
  take(sdkSpanId: string): SpanRecord | undefined {
    const record = this.#spans.get(sdkSpanId);
    if (record) this.#spans.delete(sdkSpanId);
    return record;
  }

  startTrace(sdkTraceId: string): void {
    this.#traces.set(sdkTraceId, join(sdkTraceId));
  }

  /** Forget a trace; returns its mapping, if it was open. */
  endTrace(sdkTraceId: string): TraceRecord | undefined {
    return this.#traces.take(sdkTraceId);
  }

  /**
   * The spans of `trace` still open that the SDK will not end: it never ended them, or they are
   * tools seen through hooks only. Children come before their parents. Each is remembered as
   * swept (see {@link wasSwept}). Walks every open span: only for a run known to be cancelled.
   */
  sweep(trace: TraceRecord): SpanRecord[] {
    const left: SpanRecord[] = [];
    for (const record of this.#spans.values()) {
      // An ended SDK span's end is on its way: a processor ahead of ours may hold it a while.
      if (record.trace === trace && !record.sdkSpan?.endedAt) left.push(record);
    }
    left.reverse();
    for (const record of left) this.#swept.set(record.sdkSpanId, true);
    return left;
  }

  /** Whether this span was ended when its cancelled run's trace ended (asked once per span). */
  wasSwept(sdkSpanId: string): boolean {
    return this.#swept.size > 0 && this.#swept.delete(sdkSpanId);
  }

  /** The trace's mapping if it is open (no lazy join). */
  openTrace(sdkTraceId: string): TraceRecord | undefined {
    return this.#traces.get(sdkTraceId);
  }

  trace(sdkTraceId: string): TraceRecord {
    let trace = this.#traces.get(sdkTraceId);
    if (!trace) {
      // Instrumented mid-run, or evicted: join at first sight so the spans that follow agree.
      trace = join(sdkTraceId);
      this.#traces.set(sdkTraceId, trace);
    }
    return trace;
  }

  /** A record for a span that just started, under `parent` (its SDK parent's record). */
  create(span: AnySpan, parent: SpanRecord | undefined): SpanRecord {
    const trace = this.trace(span.traceId);
    const kind = span.spanData.type;
    const data = span.spanData as unknown as Bag;
    const isAgent = kind === "agent";
    return {
      sdkSpanId: span.spanId,
      sdkTraceId: span.traceId,
      sdkParentId: span.parentId ?? undefined,
      sdkSpan: span,
      kind,
      trace,
      spanId: toSpanId(span.spanId),
      parentSpanId: this.emittingAncestor(parent) ?? trace.parentSpanId,
      agentName: isAgent ? str(data.name) : parent?.agentName,
      agentSdkSpanId: isAgent ? span.spanId : parent?.agentSdkSpanId,
      startedAt: span.startedAt ?? new Date().toISOString(),
      data,
      emits: kind === "turn" ? undefined : true,
      started: !DEFERRED_START_KINDS.has(kind),
    };
  }

  /** A span whose start we never saw (instrumented mid-run, or evicted): it gets its end events only. */
  adopt(span: AnySpan): SpanRecord {
    const record = this.create(span, this.get(span.parentId));
    if (record.kind === "turn") record.emits = false;
    return record;
  }

  /** A tool that runs without a function span (hosted, shell, computer): keyed by its call id. */
  createHookTool(current: AnySpan, name: string, callId: string): SpanRecord {
    const parent = this.get(current.spanId);
    const trace = this.trace(current.traceId);
    const key = hookToolKey(current.traceId, callId);
    return {
      sdkSpanId: key,
      sdkTraceId: current.traceId,
      sdkParentId: current.spanId,
      sdkSpan: undefined,
      kind: "tool",
      trace,
      spanId: toSpanId(key),
      parentSpanId: this.emittingAncestor(parent) ?? trace.parentSpanId,
      agentName: parent?.agentName,
      agentSdkSpanId: parent?.agentSdkSpanId,
      startedAt: new Date().toISOString(),
      data: { name },
      emits: true,
      started: true,
      callId,
    };
  }

  /** Chorus span id of the nearest ancestor that emits events: a silent turn is skipped over. */
  emittingAncestor(record: SpanRecord | undefined): string | undefined {
    let current = record;
    for (let depth = 0; current && depth < MAX_ANCESTOR_WALK; depth++) {
      if (current.emits === true) return current.spanId;
      current = this.get(current.sdkParentId);
    }
    return undefined;
  }

  /** The agent span a record runs in (itself, for an agent span). */
  agentOf(record: SpanRecord | undefined): SpanRecord | undefined {
    if (!record) return undefined;
    return record.kind === "agent" ? record : this.get(record.agentSdkSpanId);
  }

  clear(): void {
    this.#spans.clear();
    this.#traces.clear();
    this.#swept.clear();
  }
}

export function hookToolKey(sdkTraceId: string, callId: string): string {
  return `hook-tool:${sdkTraceId}:${callId}`;
}

/** Join the Chorus trace the run was started in (intent handler, `withTrace`), else map the SDK id. */
function join(sdkTraceId: string): TraceRecord {
  const context = currentTrace();
  if (!context) return { traceId: toTraceId(sdkTraceId) };
  return {
    traceId: context.traceId,
    parentSpanId: context.spanId,
    intentId: context.intentId,
    agent: context.agent,
  };
}

export function str(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}
