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
    payload = { ...llmStartPayloadOf(attrs) };
  } else if (kind.kind === "tool") {
    type = EventTypes.ToolStart;
    const args = json(attrs, ATTRIBUTES.toolArguments);
    payload = { ...toolIdentity(span), ...(args !== undefined && { arguments: args }) };
  } else {
    type = EventTypes.AgentStart;
    const input = json(attrs, ATTRIBUTES.agentInput);
    payload = { name: agentName(span), ...(input !== undefined && { input }) };
  }
  return build(span, kind, "start", type, span.startTimeMs, payload, options);
}

/** The end (or error) event of a finished GenAI span, or `undefined` (see {@link mapSpanStart}). */
export function mapSpanEnd(span: OtelSpan, options: MapOptions = {}): MappedEvent | undefined {
  const kind = validIds(span) ? classify(span) : undefined;
  if (!kind) return undefined;
  const attrs = span.attributes;
  const endMs = span.endTimeMs ?? span.startTimeMs;
  const latencyMs = Math.max(0, Math.round((endMs - span.startTimeMs) * 1000) / 1000);
  const error = errorOf(span);
  let type: string;
  let payload: Record<string, unknown>;
  if (kind.kind === "llm") {
    const usage = usageOf(attrs);
    if (error) {
      type = EventTypes.LlmError;
      payload = { ...modelOf(attrs), error, latencyMs, ...(usage && { usage }) };
    } else {
      type = EventTypes.LlmEnd;
      const finishReason = finishReasonOf(attrs);
      const ttft = num(attrs, ATTRIBUTES.timeToFirstTokenMs);
      const messages = json(attrs, ATTRIBUTES.outputMessages);
      const output = outputOf(attrs, messages);
      const toolCalls = toolCallsOf(attrs, messages);
      payload = {
        ...modelOf(attrs),
        ...(usage && { usage }),
        ...(finishReason && { finishReason }),
        latencyMs,
        ...(ttft !== undefined && { timeToFirstTokenMs: ttft }),
        ...(output !== undefined && { output }),
        ...(toolCalls && { toolCalls }),
      };
    }
  } else if (kind.kind === "tool") {
    if (error) {
      type = EventTypes.ToolError;
      payload = { ...toolIdentity(span), error, latencyMs };
    } else {
      type = EventTypes.ToolEnd;
      const result = json(attrs, ATTRIBUTES.toolResult);
      payload = { ...toolIdentity(span), ...(result !== undefined && { result }), latencyMs };
    }
  } else if (error) {
    type = EventTypes.AgentError;
    payload = { name: agentName(span), error, latencyMs };
  } else {
    type = EventTypes.AgentEnd;
    const output = json(attrs, ATTRIBUTES.agentOutput);
    payload = { name: agentName(span), ...(output !== undefined && { output }), latencyMs };
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
  const agent =
    kind.kind === "agent" ? agentName(span) : str(span.attributes, ATTRIBUTES.agentName);
  const responseId = str(span.attributes, ATTRIBUTES.responseId);
  const conversationId = str(span.attributes, ATTRIBUTES.conversationId);
  return {
    id: `otel:${span.traceId}:${span.spanId}:${phase}`,
    type,
    traceId: span.traceId,
    spanId: span.spanId,
    ...(span.parentSpanId !== undefined &&
      SPAN_ID_PATTERN.test(span.parentSpanId) && { parentSpanId: span.parentSpanId }),
    ...(isName(agent) && { agent }),
    payload: fits(payload, limit, 0)
      ? payload
      : (clip(payload, limit, 0) as Record<string, unknown>),
    metadata: {
      framework: "opentelemetry",
      convention: kind.convention,
      spanName: fits(span.name, limit, 0) ? span.name : clip(span.name, limit, 0),
      ...(span.scope && { scope: span.scope }),
      ...(responseId && { responseId }),
      ...(conversationId && { conversationId }),
    },
    occurredAt: new Date(Number.isFinite(timeMs) ? timeMs : Date.now()).toISOString(),
  };
}

function toolIdentity(span: OtelSpan): { name: string; callId?: string } {
  const callId = str(span.attributes, ATTRIBUTES.toolCallId);
  return {
    name: str(span.attributes, ATTRIBUTES.toolName) ?? span.name,
    ...(callId && { callId }),
  };
}

function agentName(span: OtelSpan): string {
  return (
    str(span.attributes, ATTRIBUTES.agentName) ??
    str(span.attributes, ATTRIBUTES.aiSdkOperation) ??
    span.name
  );
}

function validIds(span: OtelSpan): boolean {
  return (
    TRACE_ID_PATTERN.test(span.traceId) &&
    SPAN_ID_PATTERN.test(span.spanId) &&
    !/^0+$/.test(span.traceId)
  );
}

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
