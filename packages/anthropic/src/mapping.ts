import type { ErrorInfo, LlmEndPayload, LlmStartPayload } from "@chorus/core";
import { toTokenUsage } from "./usage.js";
import { arr, isObj, type Obj, str } from "./values.js";

/*
 * The one place that turns Anthropic requests, responses and errors into Chorus payloads. Pure
 * functions over `unknown`: they never trust the SDK's types, so an unexpected shape gives fewer
 * fields rather than an exception (and the caller still runs each of them under `safely`).
 */

export const PROVIDER = "anthropic";

/** Sampling parameters worth seeing beside a call; the prompt itself goes in `messages`. */
const PARAM_KEYS = [
  "max_tokens",
  "temperature",
  "top_p",
  "top_k",
  "stop_sequences",
  "tool_choice",
  "service_tier",
  "speed",
] as const;

/** Whether prompt and completion text are kept: `"metadata"` keeps only counts, names and ids. */
export type Capture = "full" | "metadata";

export function llmStartPayload(params: unknown, capture: Capture): LlmStartPayload {
  const p = isObj(params) ? params : {};
  const payload: LlmStartPayload = { provider: PROVIDER };
  const model = str(p.model);
  if (model !== undefined) payload.model = model;
  const tools = arr(p.tools)
    .map((tool) => (isObj(tool) ? str(tool.name) : undefined))
    .filter((name): name is string => name !== undefined);
  if (tools.length > 0) payload.tools = tools;
  const sampling: Record<string, unknown> = {};
  for (const key of PARAM_KEYS) if (p[key] !== undefined) sampling[key] = p[key];
  if (isObj(p.thinking) && str(p.thinking.type) !== undefined) sampling.thinking = p.thinking.type;
  if (Object.keys(sampling).length > 0) payload.params = sampling;
  if (capture === "full") {
    const messages = [...arr(p.messages)];
    if (p.system !== undefined) messages.unshift({ role: "system", content: p.system });
    payload.messages = messages;
  }
  return payload;
}

/** A `tool_use` block of a response: the model asks us to run a tool. */
export interface ToolUse {
  id: string;
  name: string;
  input: unknown;
}

/** What one assistant message says, read once and shared by `llm.end`, `agent.message` and `tool.start`. */
export interface MessageSummary {
  end: LlmEndPayload;
  /** The text blocks joined, as the SDK's `finalText()` joins them; empty when there is none. */
  text: string;
  toolUses: ToolUse[];
  /** Response id and the raw stop reason, for the event's metadata. */
  messageId?: string;
  stopReason?: string;
}

export function summarizeMessage(message: unknown, capture: Capture): MessageSummary {
  const m = isObj(message) ? message : {};
  const content = arr(m.content);
  const texts: string[] = [];
  const toolUses: ToolUse[] = [];
  for (const block of content) {
    if (!isObj(block)) continue;
    if (block.type === "text" && typeof block.text === "string") texts.push(block.text);
    if (block.type === "tool_use") {
      const id = str(block.id);
      const name = str(block.name);
      if (id !== undefined && name !== undefined) toolUses.push({ id, name, input: block.input });
    }
  }
  const end: LlmEndPayload = { provider: PROVIDER };
  const model = str(m.model);
  if (model !== undefined) end.model = model;
  const usage = toTokenUsage(m.usage);
  if (usage !== undefined) end.usage = usage;
  const stopReason = str(m.stop_reason);
  if (stopReason !== undefined) end.finishReason = finishReason(stopReason);
  if (toolUses.length > 0) end.toolCalls = toolUses.map(({ id, name }) => ({ name, callId: id }));
  if (capture === "full") end.output = content;
  const summary: MessageSummary = { end, text: texts.join(" "), toolUses };
  const id = str(m.id);
  if (id !== undefined) summary.messageId = id;
  if (stopReason !== undefined) summary.stopReason = stopReason;
  return summary;
}

/** Anthropic stop reasons in the protocol's normalised vocabulary; others pass through. */
const FINISH_REASONS: Readonly<Record<string, string>> = {
  end_turn: "stop",
  stop_sequence: "stop",
  tool_use: "tool_calls",
  max_tokens: "length",
  refusal: "content_filter",
};

export function finishReason(stopReason: string): string {
  return Object.hasOwn(FINISH_REASONS, stopReason)
    ? (FINISH_REASONS[stopReason] as string)
    : stopReason;
}

/**
 * An SDK error as {@link ErrorInfo}. `type` is the API's error type (`rate_limit_error`,
 * `overloaded_error`) when the body had one, else the SDK's class name (`APIConnectionError`).
 */
export function errorInfo(error: unknown): ErrorInfo {
  if (!isObj(error) && !(error instanceof Error)) return { message: String(error) };
  const e = error as Obj;
  const info: ErrorInfo = { message: str(e.message) ?? String(error) };
  const type = str(e.type) ?? str(e.name);
  if (type !== undefined) info.type = type;
  if (typeof e.status === "number") info.status = e.status;
  return info;
}

/** The error's class name and request id, for the event's metadata. */
export function errorMetadata(error: unknown): Record<string, unknown> {
  if (!isObj(error) && !(error instanceof Error)) return {};
  const e = error as Obj;
  const out: Record<string, unknown> = {};
  const name = str(e.name);
  if (name !== undefined) out.errorClass = name;
  const requestId = str(e.requestID);
  if (requestId !== undefined) out.requestId = requestId;
  return out;
}

/** A `tool_result` block of a request: the caller reports what a tool returned. */
export interface ToolResult {
  toolUseId: string;
  isError: boolean;
  content: unknown;
}

/**
 * The `tool_result` blocks of a request's user messages, newest message first: the results of
 * the last turn's tool calls are nearly always in the last user message, so a caller matching
 * them against pending calls can stop early.
 */
export function* toolResults(params: unknown): Generator<ToolResult> {
  if (!isObj(params)) return;
  const messages = arr(params.messages);
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i];
    if (!isObj(message) || message.role !== "user") continue;
    for (const block of arr(message.content)) {
      if (!isObj(block) || block.type !== "tool_result") continue;
      const toolUseId = str(block.tool_use_id);
      if (toolUseId !== undefined) {
        yield { toolUseId, isError: block.is_error === true, content: block.content };
      }
    }
  }
}

/** Text of a tool result's content (a string, or text blocks), for a `tool.error` message. */
export function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  return arr(content)
    .map((block) => (isObj(block) && block.type === "text" ? str(block.text) : undefined))
    .filter((text): text is string => text !== undefined)
    .join(" ");
}
