import { type ChorusEvent, type Family, familyOf, record, text, tokenUsage } from "./event.js";

/** One span of a trace: the events sharing a `spanId`, and its children by `parentSpanId`. */
export interface Span {
  spanId: string;
  parentSpanId: string | undefined;
  family: Family;
  name: string;
  agent: string | undefined;
  startMs: number;
  /** Undefined while the span is still open (no `*.end` or `*.error` yet). */
  endMs: number | undefined;
  error: boolean;
  model: string | undefined;
  inputTokens: number | undefined;
  outputTokens: number | undefined;
  events: ChorusEvent[];
  children: Span[];
  depth: number;
}

export interface TraceSummary {
  traceId: string;
  name: string;
  startMs: number;
  endMs: number;
  events: number;
  errors: number;
}

/** The traces of a channel, newest first. */
export function listTraces(events: readonly ChorusEvent[]): TraceSummary[] {
  const traces = new Map<string, TraceSummary>();
  for (const e of events) {
    if (!e.traceId) continue;
    const at = Date.parse(e.occurredAt);
    let t = traces.get(e.traceId);
    if (!t) {
      t = {
        traceId: e.traceId,
        name: e.agent ?? spanName(e),
        startMs: at,
        endMs: at,
        events: 0,
        errors: 0,
      };
      traces.set(e.traceId, t);
    }
    t.events++;
    if (familyOf(e.type) === "error") t.errors++;
    t.startMs = Math.min(t.startMs, at);
    t.endMs = Math.max(t.endMs, at);
    if (!e.parentSpanId && e.type === "agent.start") t.name = spanName(e);
  }
  return [...traces.values()].sort((a, b) => b.startMs - a.startMs);
}

/** A trace's spans depth-first (parents before children, siblings by start), with depths. */
export function buildSpans(events: readonly ChorusEvent[], traceId: string): Span[] {
  const spans = new Map<string, Span>();
  for (const e of events) {
    if (e.traceId !== traceId || !e.spanId) continue;
    const at = Date.parse(e.occurredAt);
    let span = spans.get(e.spanId);
    if (!span) {
      span = {
        spanId: e.spanId,
        parentSpanId: e.parentSpanId,
        family: familyOf(e.type),
        name: spanName(e),
        agent: e.agent,
        startMs: at,
        endMs: undefined,
        error: false,
        model: undefined,
        inputTokens: undefined,
        outputTokens: undefined,
        events: [],
        children: [],
        depth: 0,
      };
      spans.set(e.spanId, span);
    }
    absorb(span, e, at);
  }
  const roots: Span[] = [];
  for (const span of spans.values()) {
    const parent = span.parentSpanId ? spans.get(span.parentSpanId) : undefined;
    if (parent && parent !== span) parent.children.push(span);
    else roots.push(span);
  }
  const out: Span[] = [];
  const walk = (list: Span[], depth: number) => {
    list.sort((a, b) => a.startMs - b.startMs);
    for (const span of list) {
      span.depth = depth;
      out.push(span);
      walk(span.children, depth + 1);
    }
  };
  walk(roots, 0);
  return out;
}

function absorb(span: Span, e: ChorusEvent, at: number): void {
  span.events.push(e);
  span.startMs = Math.min(span.startMs, at);
  const p = record(e.payload) ?? {};
  const family = familyOf(e.type);
  if (family === "error") span.error = true;
  if (span.family === "error" && family !== "error") span.family = family;
  if (e.type.endsWith(".end") || family === "error") span.endMs = Math.max(span.endMs ?? at, at);
  const model = text(p.model);
  if (model !== undefined) {
    span.model = model;
    if (span.family === "llm") span.name = model;
  }
  // Token counts that are not numbers are absent: the waterfall never shows them as text.
  const usage = tokenUsage(p.usage);
  if (usage) {
    span.inputTokens = usage.input;
    span.outputTokens = usage.output;
  }
}

function spanName(e: ChorusEvent): string {
  const p = record(e.payload) ?? {};
  const str = (k: string) => text(p[k]);
  if (e.type.startsWith("tool.")) return str("name") ?? str("tool") ?? "tool";
  if (e.type.startsWith("llm.")) return str("model") ?? "llm call";
  return str("name") ?? e.agent ?? e.type;
}
