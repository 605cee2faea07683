import type { ErrorInfo, LlmEndPayload, LlmStartPayload, TokenUsage } from "@chorus/core";
import type { PromptDigests } from "./conversation.js";
import { arr, count, isObj, type Obj, str } from "./values.js";

/*
 * The one place that turns AI SDK model calls (the `LanguageModelV3` specification the SDK's
 * middleware sees: call options, content parts, stream parts, usage, errors) into Chorus
 * payloads. Pure functions over `unknown`: an unexpected shape gives fewer fields, never an
 * exception, and every caller still runs them under `safely`.
 */

/** Whether prompt and completion text are kept: `"metadata"` keeps only counts, names and ids. */
export type Capture = "full" | "metadata";

/** Call options worth seeing beside a call; the prompt itself goes in `messages`. */
const PARAM_KEYS = [
  "maxOutputTokens",
  "temperature",
  "topP",
  "topK",
  "presencePenalty",
  "frequencyPenalty",
  "stopSequences",
  "seed",
] as const;

/**
 * The provider an event names: the SDK's provider ids are `openai.chat`, `anthropic.messages`,
 * `google.generative-ai`; the part before the dot is the provider every other adapter names.
 */
export function providerName(model: unknown): string | undefined {
  const provider = isObj(model) ? str(model.provider) : undefined;
  if (provider === undefined || provider === "") return undefined;
  const dot = provider.indexOf(".");
  return dot > 0 ? provider.slice(0, dot) : provider;
}

export function modelId(model: unknown): string | undefined {
  return isObj(model) ? str(model.modelId) : undefined;
}

export function llmStartPayload(
  params: unknown,
  model: unknown,
  capture: Capture,
): LlmStartPayload {
  const p = isObj(params) ? params : {};
  const payload: LlmStartPayload = {};
  const id = modelId(model);
  if (id !== undefined) payload.model = id;
  const provider = providerName(model);
  if (provider !== undefined) payload.provider = provider;
  const tools = arr(p.tools)
    .map((tool) => (isObj(tool) ? str(tool.name) : undefined))
    .filter((name): name is string => name !== undefined);
  if (tools.length > 0) payload.tools = tools;
  const sampling: Record<string, unknown> = {};
  for (const key of PARAM_KEYS) if (p[key] !== undefined) sampling[key] = p[key];
  if (isObj(p.toolChoice)) sampling.toolChoice = p.toolChoice.type;
  if (isObj(p.responseFormat) && p.responseFormat.type === "json") sampling.responseFormat = "json";
  if (Object.keys(sampling).length > 0) payload.params = sampling;
  if (capture === "full") payload.messages = [...arr(p.prompt)];
  return payload;
}

/**
 * SDK usage as the protocol's {@link TokenUsage}. The v3 specification nests counts
 * (`inputTokens.total`, `.cacheRead`, `outputTokens.reasoning`); the v2 one (and many
 * providers' raw usage) has flat numbers. Both are read.
 */
export function toTokenUsage(usage: unknown): TokenUsage | undefined {
  if (!isObj(usage)) return undefined;
  const input = usage.inputTokens;
  const output = usage.outputTokens;
  const out: TokenUsage = {};
  const inputTotal = isObj(input) ? count(input.total) : count(input);
  const outputTotal = isObj(output) ? count(output.total) : count(output);
  if (inputTotal !== undefined) out.inputTokens = inputTotal;
  if (outputTotal !== undefined) out.outputTokens = outputTotal;
  const total = count(usage.totalTokens);
  if (total !== undefined) out.totalTokens = total;
  else if (inputTotal !== undefined || outputTotal !== undefined)
    out.totalTokens = (inputTotal ?? 0) + (outputTotal ?? 0);
  const cacheRead = isObj(input) ? count(input.cacheRead) : count(usage.cachedInputTokens);
  if (cacheRead !== undefined) out.cacheReadTokens = cacheRead;
  const cacheWrite = isObj(input) ? count(input.cacheWrite) : undefined;
  if (cacheWrite !== undefined) out.cacheWriteTokens = cacheWrite;
  const reasoning = isObj(output) ? count(output.reasoning) : count(usage.reasoningTokens);
  if (reasoning !== undefined) out.reasoningTokens = reasoning;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The SDK's unified finish reasons in the protocol's vocabulary. */
const FINISH_REASONS: Readonly<Record<string, string>> = {
  stop: "stop",
  length: "length",
  "content-filter": "content_filter",
  "tool-calls": "tool_calls",
  error: "error",
  other: "other",
};

/** `{ unified, raw }` (v3) or a plain string (v2) as the protocol's finish reason. */
export function finishReason(reason: unknown): string | undefined {
  const unified = isObj(reason) ? str(reason.unified) : str(reason);
  if (unified === undefined) return undefined;
  return Object.hasOwn(FINISH_REASONS, unified) ? (FINISH_REASONS[unified] as string) : unified;
}

/** A tool call in a model's answer. */
export interface ToolCall {
  callId: string;
  name: string;
  /** The arguments, parsed when they are JSON (the specification passes them as a string). */
  input: unknown;
  /** Run by the provider (web search, code execution): its result is in the same answer. */
  providerExecuted: boolean;
}

/** A tool result: in a later call's prompt, or in the answer for a provider-executed tool. */
export interface ToolResult {
  callId: string;
  name: string | undefined;
  /** The arguments of the call it answers, when the prompt carries that call. */
  input?: unknown;
  /**
   * Digest of the conversation the call was asked in: the prompt's messages before the assistant
   * message carrying the call (see `PromptDigests`).
   */
  conversation?: string | undefined;
  /** In the prompt's last message: a result the loop's next step hands back, not history. */
  latest?: boolean;
  isError: boolean;
  output: unknown;
}

/** What one answer says, read once and shared by `llm.end`, `agent.message` and the tool events. */
export interface AnswerSummary {
  end: LlmEndPayload;
  /** The text parts joined; empty when there is none. */
  text: string;
  toolCalls: ToolCall[];
  /** Results of provider-executed tools, which come in the answer itself. */
  toolResults: ToolResult[];
}

/** Read the content parts of a `doGenerate` result (or those a stream assembled). */
export function summarizeAnswer(
  content: readonly unknown[],
  finish: unknown,
  usage: unknown,
  capture: Capture,
): AnswerSummary {
  const texts: string[] = [];
  const toolCalls: ToolCall[] = [];
  const results: ToolResult[] = [];
  for (const part of content) {
    if (!isObj(part)) continue;
    if (part.type === "text" && typeof part.text === "string") texts.push(part.text);
    else if (part.type === "tool-call") {
      const call = toolCall(part);
      if (call !== undefined) toolCalls.push(call);
    } else if (part.type === "tool-result") {
      const callId = str(part.toolCallId);
      if (callId !== undefined) {
        results.push({
          callId,
          name: str(part.toolName),
          isError: part.isError === true,
          output: part.result,
        });
      }
    }
  }
  const end: LlmEndPayload = {};
  const usageOut = toTokenUsage(usage);
  if (usageOut !== undefined) end.usage = usageOut;
  const reason = finishReason(finish);
  if (reason !== undefined) end.finishReason = reason;
  if (toolCalls.length > 0) end.toolCalls = toolCalls.map(({ name, callId }) => ({ name, callId }));
  if (capture === "full") end.output = [...content];
  return { end, text: texts.join(""), toolCalls, toolResults: results };
}

function toolCall(part: Obj): ToolCall | undefined {
  const callId = str(part.toolCallId);
  const name = str(part.toolName);
  if (callId === undefined || name === undefined) return undefined;
  return {
    callId,
    name,
    input: parseJson(part.input),
    providerExecuted: part.providerExecuted === true,
  };
}

/** Tool arguments arrive as JSON text; keep them as the object they stand for when they parse. */
function parseJson(input: unknown): unknown {
  if (typeof input !== "string") return input;
  try {
    return JSON.parse(input);
  } catch {
    return input;
  }
}

/**
 * The tool results of a prompt, newest message first: the results of the last step's tool calls
 * are in the last `tool` message, so a caller matching them against pending calls can stop early.
 * With `digests` of the prompt, each carries the digest of the conversation its call was asked in.
 */
export function* promptToolResults(
  params: unknown,
  digests?: PromptDigests,
): Generator<ToolResult> {
  if (!isObj(params)) return;
  const prompt = arr(params.prompt);
  for (let i = prompt.length - 1; i >= 0; i--) {
    const message = prompt[i];
    if (!isObj(message) || (message.role !== "tool" && message.role !== "assistant")) continue;
    let calls: AskedCalls | undefined;
    for (const part of arr(message.content)) {
      if (!isObj(part) || part.type !== "tool-result") continue;
      const callId = str(part.toolCallId);
      if (callId === undefined) continue;
      calls ??= callsBefore(prompt, i);
      const output = isObj(part.output) ? part.output : {};
      const kind = str(output.type);
      yield {
        callId,
        name: str(part.toolName),
        input: calls.inputs.get(callId),
        conversation: calls.at < 0 ? undefined : digests?.upTo(calls.at),
        latest: i === prompt.length - 1,
        isError: kind === "error-text" || kind === "error-json" || kind === "execution-denied",
        output:
          kind === "execution-denied" ? { denied: true, reason: output.reason } : output.value,
      };
    }
  }
}

/** The assistant message that asked for a prompt's tool calls: where it is, and their arguments. */
interface AskedCalls {
  /** Its index in the prompt; -1 when there is none. */
  at: number;
  /** Arguments by call id. */
  inputs: Map<string, unknown>;
}

/**
 * The tool calls in the nearest assistant message up to `index` (a provider-executed call and
 * its result share one message), to tell calls with one id apart.
 */
function callsBefore(prompt: readonly unknown[], index: number): AskedCalls {
  const inputs = new Map<string, unknown>();
  for (let i = index; i >= 0; i--) {
    const message = prompt[i];
    if (!isObj(message) || message.role !== "assistant") continue;
    for (const part of arr(message.content))
      if (isObj(part) && part.type === "tool-call") {
        const callId = str(part.toolCallId);
        if (callId !== undefined) inputs.set(callId, parseJson(part.input));
      }
    return { at: i, inputs };
  }
  return { at: -1, inputs };
}

/** A tool result's output as an error message. */
export function resultMessage(output: unknown): string {
  if (typeof output === "string") return output;
  if (isObj(output) && typeof output.reason === "string") return output.reason;
  try {
    return JSON.stringify(output) ?? "tool error";
  } catch {
    return "tool error";
  }
}

/**
 * An SDK error as {@link ErrorInfo}. The SDK's `APICallError` carries the HTTP status as
 * `statusCode`; `type` is the provider's error type when the response body names one (OpenAI's
 * `error.type`, Anthropic's `error.type`), else the error's name (`AI_APICallError`).
 */
export function errorInfo(error: unknown): ErrorInfo {
  try {
    if (!isObj(error) && !(error instanceof Error)) return { message: String(error) };
    const e = error as Obj;
    const info: ErrorInfo = { message: str(e.message) ?? String(error) };
    const type = bodyErrorType(e) ?? str(e.type) ?? str(e.name);
    if (type !== undefined) info.type = type;
    const status = count(e.statusCode) ?? count(e.status);
    if (status !== undefined) info.status = status;
    return info;
  } catch {
    // A thrown value whose getters (or toString) throw still ends its call as an error.
    return { message: "an error whose fields could not be read" };
  }
}

/** `{ "error": { "type": … } }` in the error's parsed data or raw response body. */
function bodyErrorType(e: Obj): string | undefined {
  const data = isObj(e.data) ? e.data : parseBody(e.responseBody);
  if (!isObj(data)) return undefined;
  const inner = isObj(data.error) ? data.error : data;
  return str(inner.type) ?? str(inner.code);
}

function parseBody(body: unknown): unknown {
  if (typeof body !== "string" || body.length > 64 * 1024) return undefined;
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

/** The error's class name, and whether the SDK would retry it, for the event's metadata. */
export function errorMetadata(error: unknown): Record<string, unknown> {
  if (!isObj(error) && !(error instanceof Error)) return {};
  const e = error as Obj;
  const out: Record<string, unknown> = {};
  const name = str(e.name);
  if (name !== undefined) out.errorClass = name;
  if (typeof e.isRetryable === "boolean") out.retryable = e.isRetryable;
  return out;
}
