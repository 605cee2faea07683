import { EventTypes } from "../event-types.js";
import { SPAN_ID_PATTERN, TRACE_ID_PATTERN } from "../patterns.js";
import { isName } from "../schemas.js";
import { ATTRIBUTES } from "./attributes.js";
import { type Classification, classify } from "./classify.js";
import {
  errorOf,
  finishReasonOf,
  llmStartPayloadOf,
  modelOf,
  outputOf,
  toolCallsOf,
  usageOf,
} from "./payloads.js";
import { json, num, str } from "./read.js";
import type { OtelSpan } from "./span.js";
import { isoTime } from "./time.js";

/** A canonical event made from a span; the producer adds the channel (and env, app). */
export interface MappedEvent {
  /** Derived from trace id, span id and phase: a span exported twice is stored once. */
  id: string;
  type: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  agent?: string;
  payload: Record<string, unknown>;
  metadata: Record<string, unknown>;
  occurredAt: string;
}

export interface MapOptions {
  /** Strings longer than this are cut (with a marker), so a span with a huge prompt still fits an event. */
  maxStringLength?: number;
}

/** Default cut for strings read from spans, the same as the client's content capture. */
export const DEFAULT_SPAN_STRING_LENGTH = 4096;
/** Nesting kept from JSON attributes; deeper values are summarised. */
const MAX_DEPTH = 12;

/**
 * The start event of a GenAI span (`agent.start`, `llm.start`, `tool.start`), or `undefined` for
 * a span that is not GenAI work or whose ids are not W3C ids.
 */
export function mapSpanStart(span: OtelSpan, options: MapOptions = {}): MappedEvent | undefined {
  const kind = validIds(span) ? classify(span) : undefined;
  if (!kind) return undefined;
  const attrs = span.attributes;
  let type: string;
  let payload: Record<string, unknown>;
  if (kind.kind === "llm") {
    type = EventTypes.LlmStart;
    payload = llmStartPayloadOf(attrs) as Record<string, unknown>;
  } else if (kind.kind === "tool") {
    type = EventTypes.ToolStart;
    payload = toolIdentity(span);
    const args = json(attrs, ATTRIBUTES.toolArguments);
    if (args !== undefined) payload.arguments = args;
  } else {
    type = EventTypes.AgentStart;
    payload = { name: agentName(span) };
    const input = json(attrs, ATTRIBUTES.agentInput);
    if (input !== undefined) payload.input = input;
  }
  return build(span, kind, "start", type, span.startTimeMs, payload, options);
}

/** The end (or error) event of a finished GenAI span, or `undefined` (see {@link mapSpanStart}). */
export function mapSpanEnd(span: OtelSpan, options: MapOptions = {}): MappedEvent | undefined {
  const kind = validIds(span) ? classify(span) : undefined;
  if (!kind) return undefined;
  const attrs = span.attributes;
  // An end before the start (clocks or a hand-written OTLP request) is read as the start.
  let endMs = span.endTimeMs ?? span.startTimeMs;
  if (endMs < span.startTimeMs) endMs = span.startTimeMs;
  const latencyMs = Math.max(0, Math.round((endMs - span.startTimeMs) * 1000) / 1000);
  const error = errorOf(span);
  let type: string;
  let payload: Record<string, unknown>;
  if (kind.kind === "llm") {
    const usage = usageOf(attrs);
    payload = modelOf(attrs);
    if (error) {
      type = EventTypes.LlmError;
      payload.error = error;
      payload.latencyMs = latencyMs;
      if (usage) payload.usage = usage;
    } else {
      type = EventTypes.LlmEnd;
      const finishReason = finishReasonOf(attrs);
      const ttft = num(attrs, ATTRIBUTES.timeToFirstTokenMs);
      const messages = json(attrs, ATTRIBUTES.outputMessages);
      const output = outputOf(attrs, messages);
      const toolCalls = toolCallsOf(attrs, messages);
      if (usage) payload.usage = usage;
      if (finishReason) payload.finishReason = finishReason;
      payload.latencyMs = latencyMs;
      if (ttft !== undefined) payload.timeToFirstTokenMs = ttft;
      if (output !== undefined) payload.output = output;
      if (toolCalls) payload.toolCalls = toolCalls;
    }
  } else if (kind.kind === "tool") {
    payload = toolIdentity(span);
    if (error) {
      type = EventTypes.ToolError;
      payload.error = error;
    } else {
      type = EventTypes.ToolEnd;
      const result = json(attrs, ATTRIBUTES.toolResult);
      if (result !== undefined) payload.result = result;
    }
    payload.latencyMs = latencyMs;
  } else {
    payload = { name: agentName(span) };
    if (error) {
      type = EventTypes.AgentError;
      payload.error = error;
    } else {
      type = EventTypes.AgentEnd;
      const output = json(attrs, ATTRIBUTES.agentOutput);
      if (output !== undefined) payload.output = output;
    }
    payload.latencyMs = latencyMs;
  }
  return build(span, kind, error ? "error" : "end", type, endMs, payload, options);
}

/** Both events of a finished span, start first: what OTLP ingest stores. */
export function mapSpan(span: OtelSpan, options: MapOptions = {}): MappedEvent[] {
  const start = mapSpanStart(span, options);
  const end = start && mapSpanEnd(span, options);
  return start && end ? [start, end] : [];
}

function build(
  span: OtelSpan,
  kind: Classification,
  phase: "start" | "end" | "error",
  type: string,
  timeMs: number,
  payload: Record<string, unknown>,
  options: MapOptions,
): MappedEvent {
  const limit = options.maxStringLength ?? DEFAULT_SPAN_STRING_LENGTH;
  const attrs = span.attributes;
  // Fields are assigned one by one (no conditional spreads): this runs twice per span, in the
  // span processor on the application's own path.
  const event: MappedEvent = {
    id: `otel:${span.traceId}:${span.spanId}:${phase}`,
    type,
    traceId: span.traceId,
    spanId: span.spanId,
  } as MappedEvent;
  if (span.parentSpanId !== undefined && SPAN_ID_PATTERN.test(span.parentSpanId))
    event.parentSpanId = span.parentSpanId;
  const agent = kind.kind === "agent" ? agentName(span) : str(attrs, ATTRIBUTES.agentName);
  if (isName(agent)) event.agent = agent;
  event.payload = fits(payload, limit, 0)
    ? payload
    : (clip(payload, limit, 0) as Record<string, unknown>);
  const metadata: Record<string, unknown> = {
    framework: "opentelemetry",
    convention: kind.convention,
    spanName: cut(span.name, limit),
  };
  if (span.scope) metadata.scope = cut(span.scope, limit);
  const responseId = str(attrs, ATTRIBUTES.responseId);
  if (responseId) metadata.responseId = cut(responseId, limit);
  const conversationId = str(attrs, ATTRIBUTES.conversationId);
  if (conversationId) metadata.conversationId = cut(conversationId, limit);
  event.metadata = metadata;
  event.occurredAt = isoTime(Number.isFinite(timeMs) ? timeMs : Date.now());
  return event;
}

function toolIdentity(span: OtelSpan): Record<string, unknown> {
  const identity: Record<string, unknown> = {
    name: str(span.attributes, ATTRIBUTES.toolName) ?? span.name,
  };
  const callId = str(span.attributes, ATTRIBUTES.toolCallId);
  if (callId) identity.callId = callId;
  return identity;
}

function agentName(span: OtelSpan): string {
  return (
    str(span.attributes, ATTRIBUTES.agentName) ??
    str(span.attributes, ATTRIBUTES.aiSdkOperation) ??
    span.name
  );
}

/** The ids {@link validIds} accepted last: a span's end repeats its start's (and a trace's spans its trace id). */
let lastTraceId = "";
let lastSpanId = "";

function validIds(span: OtelSpan): boolean {
  const { traceId, spanId } = span;
  if (traceId !== lastTraceId) {
    if (!TRACE_ID_PATTERN.test(traceId) || ZERO_ID.test(traceId)) return false;
    lastTraceId = traceId;
  }
  if (spanId !== lastSpanId) {
    if (!SPAN_ID_PATTERN.test(spanId)) return false;
    lastSpanId = spanId;
  }
  return true;
}
const ZERO_ID = /^0+$/;

/**
 * Whether `value` is within the cut already (no string over `limit`, no nesting past MAX_DEPTH):
 * a walk that allocates nothing, so the common span (short attributes) is not copied by `clip`.
 */
function fits(value: unknown, limit: number, depth: number): boolean {
  if (typeof value === "string") return value.length <= limit;
  if (typeof value !== "object" || value === null) return true;
  if (depth >= MAX_DEPTH) return false;
  if (Array.isArray(value)) {
    for (const v of value) if (!fits(v, limit, depth + 1)) return false;
    return true;
  }
  for (const k in value)
    if (!fits((value as Record<string, unknown>)[k], limit, depth + 1)) return false;
  return true;
}

function cut(text: string, limit: number): string {
  return text.length <= limit ? text : (clip(text, limit, 0) as string);
}

/** Cut long strings and deep nesting; everything else is already JSON (it came from attributes). */
function clip(value: unknown, limit: number, depth: number): unknown {
  if (typeof value === "string")
    return value.length > limit
      ? `${value.slice(0, limit)}…[truncated ${value.length - limit} chars]`
      : value;
  if (typeof value !== "object" || value === null) return value;
  if (depth >= MAX_DEPTH) return "[nested too deep]";
  if (Array.isArray(value)) return value.map((v) => clip(v, limit, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = clip(v, limit, depth + 1);
  return out;
}
