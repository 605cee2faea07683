import type { ErrorInfo, LlmEndPayload, LlmStartPayload, TokenUsage } from "../payloads.js";
import { ATTRIBUTES, EXCEPTION_EVENT, EXCEPTION_MESSAGE, EXCEPTION_TYPE } from "./attributes.js";
import { first, firstOf, indexed, json, num, parse, str } from "./read.js";
import { OTEL_STATUS_ERROR, type OtelAttributes, type OtelSpan } from "./span.js";

/*
 * The fields of canonical payloads, read from a span through the attribute table. One function
 * per field group; `map-span.ts` assembles them into events.
 */

/** A fresh object each call: the mapping adds the rest of the payload to it. */
export function modelOf(
  attrs: OtelAttributes,
  phase: "start" | "end" = "end",
): Record<string, unknown> & { model?: string; provider?: string } {
  const out: Record<string, unknown> & { model?: string; provider?: string } = {};
  const model = str(attrs, phase === "start" ? ATTRIBUTES.requestModel : ATTRIBUTES.model);
  if (model) out.model = model;
  const provider = str(attrs, ATTRIBUTES.provider);
  if (provider) out.provider = provider;
  return out;
}

const USAGE_FIELDS = [
  ["inputTokens", ATTRIBUTES.inputTokens],
  ["outputTokens", ATTRIBUTES.outputTokens],
  ["totalTokens", ATTRIBUTES.totalTokens],
  ["cacheReadTokens", ATTRIBUTES.cacheReadTokens],
  ["cacheWriteTokens", ATTRIBUTES.cacheWriteTokens],
  ["reasoningTokens", ATTRIBUTES.reasoningTokens],
] as const;

export function usageOf(attrs: OtelAttributes): TokenUsage | undefined {
  let usage: TokenUsage | undefined;
  for (const [field, names] of USAGE_FIELDS) {
    const n = num(attrs, names);
    if (n === undefined || n < 0) continue; // a count below zero is no count
    usage ??= {};
    usage[field] = n;
  }
  if (
    usage !== undefined &&
    usage.totalTokens === undefined &&
    usage.inputTokens !== undefined &&
    usage.outputTokens !== undefined
  )
    usage.totalTokens = usage.inputTokens + usage.outputTokens;
  return usage;
}

/** `tool-calls` (AI SDK) and `tool_calls` (OpenAI) are one reason: Chorus spells it with `_`. */
export function finishReasonOf(attrs: OtelAttributes): string | undefined {
  return firstOf(first(attrs, ATTRIBUTES.finishReasons))?.replaceAll("-", "_");
}

const PARAMS = Object.entries(ATTRIBUTES.params);

export function paramsOf(attrs: OtelAttributes): Record<string, unknown> | undefined {
  let params: Record<string, unknown> | undefined;
  for (const [key, names] of PARAMS) {
    const n = num(attrs, names);
    if (n === undefined) continue;
    params ??= {};
    params[key] = n;
  }
  const invocation = json(attrs, ATTRIBUTES.invocationParameters);
  if (invocation && typeof invocation === "object" && !Array.isArray(invocation))
    params = Object.assign(params ?? {}, invocation);
  return params !== undefined && Object.keys(params).length > 0 ? params : undefined;
}

export function inputMessagesOf(attrs: OtelAttributes): unknown[] | undefined {
  const messages = json(attrs, ATTRIBUTES.inputMessages);
  const system = json(attrs, ATTRIBUTES.systemInstructions);
  const list = Array.isArray(messages) ? messages : openInferenceMessages(attrs, "input");
  if (system === undefined) return list;
  const withSystem: unknown[] = [{ role: "system", content: system }];
  if (list) for (const m of list) withSystem.push(m);
  return withSystem;
}

/** `messages`: the output messages attribute, when the caller has decoded it already. */
export function outputOf(
  attrs: OtelAttributes,
  messages: unknown = json(attrs, ATTRIBUTES.outputMessages),
): unknown {
  if (messages !== undefined) return messages;
  const text = first(attrs, ATTRIBUTES.outputText);
  if (typeof text === "string") return parse(text);
  return openInferenceMessages(attrs, "output");
}

function openInferenceMessages(
  attrs: OtelAttributes,
  side: "input" | "output",
): unknown[] | undefined {
  const prefix =
    side === "input"
      ? ATTRIBUTES.openInferenceInputMessages[0]
      : ATTRIBUTES.openInferenceOutputMessages[0];
  return indexed(attrs, prefix)?.map((m) => ({
    role: m["message.role"],
    content: m["message.content"],
  }));
}

/**
 * The start of a tool definition as the AI SDK writes each one (`ai.prompt.tools`, one JSON
 * string per tool, from `JSON.stringify` of `{ type, name, description, inputSchema }`): the
 * name is read from here, anchored at the first character, so it can only be the definition's
 * own top-level name.
 */
const TOOL_NAME_PREFIX = /^\{"type":"[a-z_-]*","name":("(?:[^"\\]|\\.)*")/;

/**
 * The names of the tools offered to the model. An AI SDK definition's name is read from its
 * first characters ({@link TOOL_NAME_PREFIX}) instead of parsing the whole definition, whose
 * JSON schema and description can be kilobytes per tool on every model call; a definition of
 * any other form is parsed.
 */
export function toolNamesOf(attrs: OtelAttributes): string[] | undefined {
  const value = first(attrs, ATTRIBUTES.toolDefinitions);
  const defs = Array.isArray(value) ? value : typeof value === "string" ? parse(value) : undefined;
  if (!Array.isArray(defs)) return undefined;
  const names: string[] = [];
  for (const d of defs) {
    const name = typeof d === "string" ? toolNameOf(d) : nameField(d);
    if (typeof name === "string") names.push(name);
  }
  return names.length > 0 ? names : undefined;
}

function toolNameOf(definition: string): unknown {
  const match = TOOL_NAME_PREFIX.exec(definition);
  if (match) {
    try {
      return JSON.parse(match[1] as string);
    } catch {
      // not a JSON string after all: the whole definition decides
    }
  }
  return nameField(parse(definition));
}

function nameField(definition: unknown): unknown {
  return definition && typeof definition === "object"
    ? (definition as { name?: unknown }).name
    : undefined;
}

/** Tool calls the model asked for: AI SDK's list, or `tool_call` parts of GenAI output messages. */
export function toolCallsOf(
  attrs: OtelAttributes,
  output: unknown = json(attrs, ATTRIBUTES.outputMessages),
): LlmEndPayload["toolCalls"] {
  const calls: { name: string; callId?: string }[] = [];
  const aiSdk = json(attrs, ATTRIBUTES.toolCalls);
  if (Array.isArray(aiSdk)) {
    for (const c of aiSdk) {
      const call = c as { toolName?: unknown; toolCallId?: unknown };
      if (typeof call?.toolName !== "string") continue;
      const entry: { name: string; callId?: string } = { name: call.toolName };
      if (typeof call.toolCallId === "string") entry.callId = call.toolCallId;
      calls.push(entry);
    }
  }
  if (Array.isArray(output)) {
    for (const message of output) {
      const parts = (message as { parts?: unknown })?.parts;
      if (!Array.isArray(parts)) continue;
      for (const p of parts) {
        const part = p as { type?: unknown; name?: unknown; id?: unknown };
        if (part?.type !== "tool_call" || typeof part.name !== "string") continue;
        const entry: { name: string; callId?: string } = { name: part.name };
        if (typeof part.id === "string") entry.callId = part.id;
        calls.push(entry);
      }
    }
  }
  return calls.length > 0 ? calls : undefined;
}

/** The error of a failed span: its status, `error.type`, and the recorded exception event. */
export function errorOf(span: OtelSpan): ErrorInfo | undefined {
  if (span.status?.code !== OTEL_STATUS_ERROR) return undefined;
  const exception = span.events?.find((e) => e.name === EXCEPTION_EVENT)?.attributes ?? {};
  const message =
    span.status.message || str(exception, [EXCEPTION_MESSAGE]) || "span ended with an error";
  const type = str(span.attributes, ATTRIBUTES.errorType) ?? str(exception, [EXCEPTION_TYPE]);
  const error: ErrorInfo = { message };
  if (type) error.type = type;
  return error;
}

export function llmStartPayloadOf(attrs: OtelAttributes): LlmStartPayload {
  const payload: LlmStartPayload = modelOf(attrs, "start");
  const messages = inputMessagesOf(attrs);
  if (messages) payload.messages = messages;
  const tools = toolNamesOf(attrs);
  if (tools) payload.tools = tools;
  const params = paramsOf(attrs);
  if (params) payload.params = params;
  return payload;
}
