import { EventTypes } from "@chorus/core";
import type { ModelCall } from "./model-call.js";
import type {
  AgentEndPayload,
  AgentErrorPayload,
  AgentHandoffPayload,
  AgentMessagePayload,
  AgentStartPayload,
  ErrorInfo,
  LlmEndPayload,
  LlmErrorPayload,
  LlmStartPayload,
  LlmTokenPayload,
  ToolEndPayload,
  ToolErrorPayload,
  ToolStartPayload,
} from "@chorus/core";
import type { SpanRecord, ToolCallRef } from "./span-map.js";
import { toTokenUsage } from "./usage.js";

/*
 * The one place that decides what a Chorus event says about an SDK span: pure functions from
 * span data (and what the tracker remembered) to an event type and a canonical payload. When and
 * under which ids they are emitted is the tracker's job.
 */

type Bag = Record<string, unknown>;

export interface Mapped {
  type: string;
  payload: Record<string, unknown>;
}

/** Whether prompt and completion text go into payloads (`capture: "full"`). */
export interface MapOptions {
  content: boolean;
}

/** `agent.start` of a task (the run) or of an agent span. */
export function runStart(name: string): Mapped {
  const payload: AgentStartPayload = { name };
  return { type: EventTypes.AgentStart, payload: compact(payload) };
}

/** `agent.end` or `agent.error` of a task or agent span; a task carries the run's total usage. */
export function runEnd(
  name: string,
  data: Bag,
  error: SpanErrorLike | null,
  latencyMs: number | undefined,
): Mapped {
  if (error) {
    const payload: AgentErrorPayload = { name, error: errorInfo(error), latencyMs };
    return { type: EventTypes.AgentError, payload: compact(payload) };
  }
  const payload: AgentEndPayload & { usage?: unknown } = {
    name,
    latencyMs,
    usage: toTokenUsage(data.usage),
  };
  return { type: EventTypes.AgentEnd, payload: compact(payload) };
}

/** `llm.start`: what we know before the answer (the model often fills its span in later). */
export function llmStart(
  call: Partial<ModelCall>,
  tools: string[] | undefined,
  options: MapOptions,
): Mapped {
  const payload: LlmStartPayload = {
    model: call.model,
    provider: call.provider,
    tools: tools && tools.length > 0 ? tools : undefined,
    params: call.params,
    messages: options.content ? call.messages : undefined,
  };
  return { type: EventTypes.LlmStart, payload: compact(payload) };
}

/** `llm.end` or `llm.error` of a generation or response span. */
export function llmEnd(
  call: ModelCall,
  error: SpanErrorLike | null,
  timing: { latencyMs?: number; timeToFirstTokenMs?: number },
  options: MapOptions,
): Mapped {
  if (error) {
    const payload: LlmErrorPayload = {
      model: call.model,
      provider: call.provider,
      error: modelErrorInfo(error),
      latencyMs: timing.latencyMs,
    };
    return { type: EventTypes.LlmError, payload: compact(payload) };
  }
  const payload: LlmEndPayload & { responseId?: string } = {
    model: call.model,
    provider: call.provider,
    usage: call.usage,
    finishReason: call.finishReason,
    latencyMs: timing.latencyMs,
    timeToFirstTokenMs: timing.timeToFirstTokenMs,
    output: options.content ? call.text : undefined,
    toolCalls: call.toolCalls.length > 0 ? call.toolCalls : undefined,
    responseId: call.responseId,
  };
  return { type: EventTypes.LlmEnd, payload: compact(payload) };
}

/**
 * `llm.end` or `llm.error` for a turn that stands in for a model that does not trace itself
 * (ScriptedModel, custom models): usage is the turn's, tool calls are the tools it ran, and the
 * finish reason follows from whether the model asked for any.
 */
export function turnEnd(
  turn: SpanRecord,
  data: Bag,
  error: SpanErrorLike | null,
  timing: { latencyMs?: number; timeToFirstTokenMs?: number },
): Mapped {
  const asked = turn.firstChildAt !== undefined;
  if (error && !asked) {
    // No tool or handoff began, so the model call itself is what failed.
    const payload: LlmErrorPayload = {
      model: turn.model,
      error: errorInfo(error),
      latencyMs: timing.latencyMs,
    };
    return { type: EventTypes.LlmError, payload: compact(payload) };
  }
  const toolCalls: ToolCallRef[] = turn.toolCalls ?? [];
  const payload: LlmEndPayload = {
    model: turn.model,
    usage: toTokenUsage(data.usage),
    finishReason: asked ? "tool_calls" : "stop",
    latencyMs: timing.latencyMs,
    timeToFirstTokenMs: timing.timeToFirstTokenMs,
    toolCalls: toolCalls.length > 0 ? toolCalls : undefined,
  };
  return { type: EventTypes.LlmEnd, payload: compact(payload) };
}

export function toolStart(
  name: string,
  callId: string | undefined,
  args: unknown,
  options: MapOptions,
): Mapped {
  const payload: ToolStartPayload = {
    name,
    callId,
    arguments: options.content ? parseArguments(args) : undefined,
  };
  return { type: EventTypes.ToolStart, payload: compact(payload) };
}

export function toolEnd(
  name: string,
  callId: string | undefined,
  result: unknown,
  error: SpanErrorLike | null,
  latencyMs: number | undefined,
  options: MapOptions,
): Mapped {
  if (error) {
    const payload: ToolErrorPayload = { name, callId, error: errorInfo(error), latencyMs };
    return { type: EventTypes.ToolError, payload: compact(payload) };
  }
  const payload: ToolEndPayload = {
    name,
    callId,
    result: options.content ? result : undefined,
    latencyMs,
  };
  return { type: EventTypes.ToolEnd, payload: compact(payload) };
}

export function handoff(from: string, to: string): Mapped {
  const payload: AgentHandoffPayload = { from, to };
  return { type: EventTypes.AgentHandoff, payload: compact(payload) };
}

/**
 * Spans with no canonical counterpart become one `custom` event at their end: guardrails (with
 * whether they tripped), custom spans (with their data), MCP tool listings, speech and the rest.
 */
export function pointEvent(
  kind: string,
  data: Bag,
  error: SpanErrorLike | null,
  options: MapOptions,
): Mapped {
  const payload: Record<string, unknown> = { kind };
  switch (kind) {
    case "guardrail":
      payload.name = data.name;
      payload.triggered = data.triggered === true;
      break;
    case "custom":
      payload.name = data.name;
      if (options.content) payload.data = data.data;
      break;
    case "mcp_tools":
      payload.name = "mcp_tools";
      payload.server = data.server;
      payload.tools = data.result;
      break;
    default:
      payload.name = kind;
      payload.model = data.model;
  }
  if (error) payload.error = errorInfo(error);
  return { type: EventTypes.Custom, payload: compact(payload) };
}

/** The SDK's span error: a message plus free-form data (often `{ error: "…" }`). */
export interface SpanErrorLike {
  message: string;
  data?: Record<string, unknown>;
}

export function errorInfo(error: SpanErrorLike): ErrorInfo {
  const detail = error.data?.error;
  const message =
    typeof detail === "string" && detail !== "" ? `${error.message}: ${detail}` : error.message;
  const type = typeof error.data?.type === "string" ? error.data.type : undefined;
  return type === undefined ? { message } : { message, type };
}

/**
 * The OpenAI client's error classes by HTTP status, as `openai` creates them
 * (`APIError.generate`, listed in its README under "Handling errors").
 */
const OPENAI_ERROR_CLASSES: Readonly<Record<number, string>> = {
  400: "BadRequestError",
  401: "AuthenticationError",
  403: "PermissionDeniedError",
  404: "NotFoundError",
  409: "ConflictError",
  422: "UnprocessableEntityError",
  429: "RateLimitError",
};

/**
 * The error of a model that traces itself: the SDK's own OpenAI models, whose failures are the
 * `openai` client's `APIError`s. The SDK records only the error's message on the span (never the
 * error, its `status` or the body's `type`), and that client writes the HTTP status at the start
 * of every message (`"500 The server had an error"`): the status is read from there, and the
 * error class the client picks for it is the type. A message not of that form is left as it is.
 */
export function modelErrorInfo(error: SpanErrorLike): ErrorInfo {
  const info = errorInfo(error);
  const match = /^([1-5]\d\d) /.exec(error.message);
  if (!match) return info;
  const status = Number(match[1]);
  const type =
    info.type ??
    OPENAI_ERROR_CLASSES[status] ??
    (status >= 500 ? "InternalServerError" : "APIError");
  return { ...info, status, type };
}

/** Tool arguments arrive as a JSON string; parsed, they read better and redact per key. */
function parseArguments(args: unknown): unknown {
  if (typeof args !== "string" || args === "") return args === "" ? undefined : args;
  try {
    return JSON.parse(args);
  } catch {
    return args;
  }
}

/** `agent.message`: the agent's final text. */
export function message(text: string): Mapped {
  const payload: AgentMessagePayload = { role: "assistant", text };
  return { type: EventTypes.AgentMessage, payload: compact(payload) };
}

/** `llm.token` (opt-in): one streamed text delta. */
export function llmToken(token: string, index: number): Mapped {
  const payload: LlmTokenPayload = { token, index };
  return { type: EventTypes.LlmToken, payload: compact(payload) };
}

/**
 * Drop undefined fields: they would not survive JSON anyway, and the client redacts a key that
 * looks like a secret whatever its value, turning an absent field into a "[REDACTED]" one.
 */
function compact(payload: object): Record<string, unknown> {
  // for…in over a fresh literal (own, enumerable keys only): no entries array per event.
  const out: Record<string, unknown> = {};
  for (const key in payload) {
    const value = (payload as Record<string, unknown>)[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}
