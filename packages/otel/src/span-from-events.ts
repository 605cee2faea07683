import {
  ATTRIBUTES,
  type ChorusEvent,
  EventTypes,
  SPAN_ID_PATTERN,
  TRACE_ID_PATTERN,
} from "@chorus/protocol";
import {
  type Attributes,
  type AttributeValue,
  type HrTime,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
} from "@opentelemetry/api";
import type { ReadableSpan, TimedEvent } from "@opentelemetry/sdk-trace-base";

/*
 * The inverse of the protocol's mapping: a start event and its end (or error) event become one
 * OTel span with the GenAI semantic-convention attributes, each written under the first (current)
 * name of its row in `ATTRIBUTES`, so `mapSpan()` of the exported span reads the same fields back.
 */

export type SpanPhase = "start" | "end" | "error";
export type SpanKindName = "agent" | "llm" | "tool";

const PHASES: Record<string, { kind: SpanKindName; phase: SpanPhase }> = {
  [EventTypes.AgentStart]: { kind: "agent", phase: "start" },
  [EventTypes.AgentEnd]: { kind: "agent", phase: "end" },
  [EventTypes.AgentError]: { kind: "agent", phase: "error" },
  [EventTypes.LlmStart]: { kind: "llm", phase: "start" },
  [EventTypes.LlmEnd]: { kind: "llm", phase: "end" },
  [EventTypes.LlmError]: { kind: "llm", phase: "error" },
  [EventTypes.ToolStart]: { kind: "tool", phase: "start" },
  [EventTypes.ToolEnd]: { kind: "tool", phase: "end" },
  [EventTypes.ToolError]: { kind: "tool", phase: "error" },
};

/** Whether an event opens or closes a span, and of which kind; `undefined` for other events. */
export function phaseOf(type: string): { kind: SpanKindName; phase: SpanPhase } | undefined {
  return PHASES[type];
}

/** `gen_ai.operation.name` written for each kind. */
const OPERATION: Record<SpanKindName, string> = {
  agent: "invoke_agent",
  llm: "chat",
  tool: "execute_tool",
};

/** The resource and scope every exported span carries. */
export interface SpanSource {
  resource: ReadableSpan["resource"];
  scope: { name: string; version?: string };
}

type Payload = Record<string, unknown>;

/**
 * One span from a start event and its end or error event. Either may be missing: a start alone
 * (still running when the bound evicted it) is not exported; an end alone (its start came before
 * the stream did) starts `latencyMs` before it ends. Events of the span in between (custom,
 * messages) become span events.
 */
export function spanFromEvents(
  start: ChorusEvent | undefined,
  end: ChorusEvent,
  source: SpanSource,
  between: readonly ChorusEvent[] = [],
): ReadableSpan | undefined {
  const ended = phaseOf(end.type);
  // The hub stores any 32 (16) hex digits, zeros too; a collector refuses a whole batch for one
  // all-zero id (W3C: invalid), so such a span is left out and a zero parent is no parent.
  if (!ended || ended.phase === "start" || !validId(end.traceId, TRACE_ID_PATTERN))
    return undefined;
  if (!validId(end.spanId, SPAN_ID_PATTERN)) return undefined;
  const kind = ended.kind;
  const startPayload = (start?.payload ?? {}) as Payload;
  const endPayload = (end.payload ?? {}) as Payload;
  const endMs = Date.parse(end.occurredAt ?? end.receivedAt ?? "");
  const latency = typeof endPayload.latencyMs === "number" ? endPayload.latencyMs : 0;
  // A latency past the epoch (or below zero) would make a time OTLP's unsigned fields cannot hold.
  const startMs = start
    ? Date.parse(start.occurredAt ?? "")
    : endMs - Math.min(Math.max(0, latency), endMs);
  if (!Number.isFinite(endMs) || !Number.isFinite(startMs)) return undefined;

  const attributes: Attributes = {};
  const set = (names: readonly string[], value: unknown) => {
    const v = attributeValue(value);
    if (v !== undefined) attributes[names[0] as string] = v;
  };
  set(ATTRIBUTES.genAiOperation, OPERATION[kind]);
  set(ATTRIBUTES.agentName, end.agent ?? start?.agent);
  set(ATTRIBUTES.conversationId, end.metadata?.conversationId ?? start?.metadata?.conversationId);
  let name: string;
  if (kind === "llm") {
    const requestModel = startPayload.model ?? endPayload.model;
    set(ATTRIBUTES.provider, endPayload.provider ?? startPayload.provider);
    set(ATTRIBUTES.requestModel, requestModel);
    set(ATTRIBUTES.model, endPayload.model);
    set(ATTRIBUTES.inputMessages, startPayload.messages);
    set(ATTRIBUTES.toolDefinitions, toolDefinitions(startPayload.tools));
    const params = (startPayload.params ?? {}) as Payload;
    for (const [key, names] of Object.entries(ATTRIBUTES.params)) set(names, params[key]);
    const usage = (endPayload.usage ?? {}) as Payload;
    set(ATTRIBUTES.inputTokens, usage.inputTokens);
    set(ATTRIBUTES.outputTokens, usage.outputTokens);
    set(ATTRIBUTES.cacheReadTokens, usage.cacheReadTokens);
    set(ATTRIBUTES.cacheWriteTokens, usage.cacheWriteTokens);
    set(ATTRIBUTES.reasoningTokens, usage.reasoningTokens);
    if (typeof endPayload.finishReason === "string")
      attributes[ATTRIBUTES.finishReasons[0]] = [endPayload.finishReason];
    set(ATTRIBUTES.timeToFirstTokenMs, endPayload.timeToFirstTokenMs);
    set(ATTRIBUTES.responseId, end.metadata?.responseId);
    set(ATTRIBUTES.outputMessages, outputMessages(endPayload));
    name = `chat${typeof requestModel === "string" ? ` ${requestModel}` : ""}`;
  } else if (kind === "tool") {
    const tool = text(endPayload.name) ?? text(startPayload.name) ?? "tool";
    set(ATTRIBUTES.toolName, tool);
    set(ATTRIBUTES.toolCallId, endPayload.callId ?? startPayload.callId);
    set(ATTRIBUTES.toolArguments, startPayload.arguments);
    set(ATTRIBUTES.toolResult, endPayload.result);
    name = `execute_tool ${tool}`;
  } else {
    const agent = text(endPayload.name) ?? text(startPayload.name) ?? end.agent ?? "agent";
    set(ATTRIBUTES.agentName, agent);
    name = `invoke_agent ${agent}`;
  }
  const error = ended.phase === "error" ? errorOf(endPayload) : undefined;
  if (error?.type) attributes[ATTRIBUTES.errorType[0]] = error.type;
  const intentId = end.intentId ?? start?.intentId;
  if (intentId) attributes["chorus.intent.id"] = intentId;

  const events: TimedEvent[] = between.map((e) => ({
    name: e.type,
    time: hrTime(Date.parse(e.occurredAt ?? "") || endMs),
    attributes: {
      "chorus.event.id": e.id ?? "",
      "chorus.payload": JSON.stringify(e.payload ?? {}),
    },
  }));
  if (error)
    events.push({
      name: "exception",
      time: hrTime(endMs),
      attributes: {
        "exception.message": error.message,
        ...(error.type && { "exception.type": error.type }),
      },
    });
  const spanContext = { traceId: end.traceId, spanId: end.spanId, traceFlags: TraceFlags.SAMPLED };
  const parentId = end.parentSpanId ?? start?.parentSpanId;
  const parentSpanId = validId(parentId, SPAN_ID_PATTERN) ? parentId : undefined;
  const parentSpanContext = parentSpanId
    ? { traceId: end.traceId, spanId: parentSpanId, traceFlags: TraceFlags.SAMPLED }
    : undefined;
  const startTime = hrTime(Math.min(startMs, endMs));
  const endTime = hrTime(endMs);
  const instrumentationScope = source.scope;
  return {
    name,
    kind: kind === "llm" ? SpanKind.CLIENT : SpanKind.INTERNAL,
    spanContext: () => spanContext,
    parentSpanContext,
    // SDK 1.x exporters read these two names.
    ...({ parentSpanId, instrumentationLibrary: instrumentationScope } as object),
    startTime,
    endTime,
    duration: hrTime(Math.max(0, endMs - startMs)),
    status: error
      ? { code: SpanStatusCode.ERROR, message: error.message }
      : { code: SpanStatusCode.UNSET },
    attributes,
    links: [],
    events,
    ended: true,
    resource: source.resource,
    instrumentationScope,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

function validId(id: string | undefined, pattern: RegExp): id is string {
  return id !== undefined && pattern.test(id) && !ZERO_ID.test(id);
}
const ZERO_ID = /^0+$/;

/** Milliseconds since the epoch as OTel's `[seconds, nanoseconds]`. */
function hrTime(ms: number): HrTime {
  const seconds = Math.floor(ms / 1000);
  return [seconds, Math.round((ms - seconds * 1000) * 1e6)];
}

/** Strings, numbers and booleans as they are; objects and arrays as JSON (OTel has no maps). */
function attributeValue(value: unknown): AttributeValue | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

function toolDefinitions(tools: unknown): unknown {
  if (!Array.isArray(tools) || tools.length === 0) return undefined;
  return tools
    .filter((t): t is string => typeof t === "string")
    .map((name) => ({ type: "function", name }));
}

/**
 * `gen_ai.output.messages`: the output as it is when it is already a message list, otherwise one
 * assistant message of the text (or object) and the tool calls the model asked for.
 */
function outputMessages(payload: Payload): unknown {
  const { output, toolCalls } = payload;
  if (Array.isArray(output)) return output;
  const parts: unknown[] = [];
  if (typeof output === "string") parts.push({ type: "text", content: output });
  else if (output !== undefined && output !== null)
    parts.push({ type: "text", content: JSON.stringify(output) });
  if (Array.isArray(toolCalls))
    for (const call of toolCalls as { name?: unknown; callId?: unknown }[])
      if (typeof call?.name === "string")
        parts.push({
          type: "tool_call",
          name: call.name,
          ...(typeof call.callId === "string" && { id: call.callId }),
        });
  if (parts.length === 0) return undefined;
  const finish = payload.finishReason;
  return [
    { role: "assistant", parts, ...(typeof finish === "string" && { finish_reason: finish }) },
  ];
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function errorOf(payload: Payload): { message: string; type?: string } {
  // The canonical error is `{ message, type }`; a producer that sent the message alone is read too.
  if (typeof payload.error === "string" && payload.error !== "") return { message: payload.error };
  const error = (payload.error ?? {}) as { message?: unknown; type?: unknown };
  return {
    message: typeof error.message === "string" ? error.message : "error",
    ...(typeof error.type === "string" && { type: error.type }),
  };
}
