import { errorInfo } from "./errors.js";
import { compactMessage, compactMessages, isMessage, textOf, toolCallsOf } from "./messages.js";
import { isArray, isObject, read, readNumber, readString } from "./read.js";
import { finishReasonOf, generatedMessages, responseModelOf, usageOf } from "./usage.js";

/*
 * The one place where LangChain objects become Chorus payloads (shapes: payloads.ts of
 * @chorus/protocol). `content: false` is `capture: "metadata"`: prompt, completion, arguments
 * and results are never read, so they cannot leak and cost nothing. Everything else (truncation,
 * secret redaction, circular or BigInt values) is left to @chorus/core's content capture.
 */

export type Payload = Record<string, unknown>;

/**
 * Tool inputs longer than this stay a string instead of being parsed as JSON: parsing is on the
 * framework's path, and capture would cut such a value anyway.
 */
export const MAX_PARSED_INPUT_LENGTH = 64 * 1024;

/** The name LangChain would show for a serialized component: its `name`, else the last part of its id. */
export function serializedName(serialized: unknown): string | undefined {
  const name = readString(serialized, "name");
  if (name) return name;
  const id = read(serialized, "id");
  if (!isArray(id) || id.length === 0) return undefined;
  const last = id[id.length - 1];
  return typeof last === "string" ? last : undefined;
}

/** Serialized ids of a compiled LangGraph graph (createAgent returns one). */
const GRAPH_CLASSES = new Set(["CompiledStateGraph", "CompiledGraph", "Pregel", "ReactAgent"]);
/** The run name LangGraph gives a graph compiled without a name. */
const DEFAULT_GRAPH_NAME = "LangGraph";

/** The name of a chain run that is a named compiled graph, else `undefined`. */
export function graphNameOf(serialized: unknown, runName: string | undefined): string | undefined {
  if (runName === undefined || runName === DEFAULT_GRAPH_NAME || runName.length === 0)
    return undefined;
  const id = read(serialized, "id");
  if (!isArray(id)) return undefined;
  const last = id[id.length - 1];
  return typeof last === "string" && GRAPH_CLASSES.has(last) ? runName : undefined;
}

/** Chain inputs or outputs: a messages state becomes compact messages, a message compact, the rest as is. */
export function compactValue(value: unknown): unknown {
  if (isMessage(value)) return compactMessage(value);
  if (!isObject(value) || isArray(value)) return value;
  const messages = read(value, "messages");
  if (!isArray(messages)) return value;
  return { ...value, messages: compactMessages(messages) };
}

export function runStartPayload(name: string, input: unknown, content: boolean): Payload {
  return content ? { name, input: compactValue(input) } : { name };
}

export function runEndPayload(
  name: string,
  output: unknown,
  latencyMs: number,
  content: boolean,
): Payload {
  if (!content) return { name, latencyMs };
  // A createAgent state ends with the whole transcript; the last message is the news.
  const messages = read(output, "messages");
  const compact =
    isArray(messages) && messages.length > 0
      ? compactMessage(messages[messages.length - 1])
      : compactValue(output);
  return { name, output: compact, latencyMs };
}

export function runErrorPayload(name: string, error: unknown, latencyMs: number): Payload {
  return { name, error: errorInfo(error), latencyMs };
}

/** Model and provider of an LLM run, from LangSmith's `ls_*` metadata or the invocation params. */
export function modelOf(
  serialized: unknown,
  extraParams: unknown,
  lcMetadata: unknown,
): { model?: string; provider?: string } {
  const params = read(extraParams, "invocation_params");
  const kwargs = read(serialized, "kwargs");
  const model =
    readString(lcMetadata, "ls_model_name") ??
    readString(params, "model") ??
    readString(params, "model_name") ??
    readString(kwargs, "model") ??
    readString(kwargs, "modelName");
  const provider = readString(lcMetadata, "ls_provider");
  return {
    ...(model === undefined ? {} : { model }),
    ...(provider === undefined ? {} : { provider }),
  };
}

export function llmStartPayload(
  model: { model?: string; provider?: string },
  prompt: { messages?: unknown; prompts?: unknown },
  extraParams: unknown,
  lcMetadata: unknown,
  content: boolean,
): Payload {
  const payload: Payload = { ...model };
  if (content) {
    if (prompt.messages !== undefined) payload.messages = compactMessages(prompt.messages);
    else if (isArray(prompt.prompts))
      payload.messages = prompt.prompts.map((p) => ({ role: "user", content: p }));
  }
  const tools = offeredTools(read(read(extraParams, "invocation_params"), "tools"));
  if (tools.length > 0) payload.tools = tools;
  const params = samplingParams(lcMetadata);
  if (params) payload.params = params;
  return payload;
}

function offeredTools(tools: unknown): string[] {
  if (!isArray(tools)) return [];
  const names: string[] = [];
  for (const tool of tools) {
    // OpenAI shape `{ type: "function", function: { name } }`, Anthropic and others `{ name }`.
    const name = readString(read(tool, "function"), "name") ?? readString(tool, "name");
    if (name !== undefined) names.push(name);
  }
  return names;
}

function samplingParams(lcMetadata: unknown): Payload | undefined {
  const temperature = readNumber(lcMetadata, "ls_temperature");
  const maxTokens = readNumber(lcMetadata, "ls_max_tokens");
  const stop = read(lcMetadata, "ls_stop");
  if (temperature === undefined && maxTokens === undefined && stop === undefined) return undefined;
  const params: Payload = {};
  if (temperature !== undefined) params.temperature = temperature;
  if (maxTokens !== undefined) params.maxTokens = maxTokens;
  if (isArray(stop)) params.stop = stop;
  return params;
}

export interface LlmTiming {
  latencyMs: number;
  timeToFirstTokenMs: number | undefined;
}

export function llmEndPayload(
  model: { model?: string; provider?: string },
  result: unknown,
  timing: LlmTiming,
  content: boolean,
): Payload {
  const payload: Payload = { ...model };
  const responseModel = responseModelOf(result);
  if (responseModel !== undefined) payload.model = responseModel;
  const usage = usageOf(result);
  if (usage) payload.usage = usage;
  const finishReason = finishReasonOf(result);
  if (finishReason !== undefined) payload.finishReason = finishReason;
  payload.latencyMs = timing.latencyMs;
  if (timing.timeToFirstTokenMs !== undefined)
    payload.timeToFirstTokenMs = timing.timeToFirstTokenMs;
  const messages = generatedMessages(result);
  const first = messages[0];
  if (content && first !== undefined)
    payload.output = isMessage(first) ? textOrContent(first) : readString(first, "text");
  const toolCalls = toolCallsOf(first);
  if (toolCalls.length > 0) {
    payload.toolCalls = content
      ? toolCalls
      : toolCalls.map(({ name, callId }) => (callId === undefined ? { name } : { name, callId }));
  }
  return payload;
}

/** A completion's text when it is all text; its content blocks otherwise (thinking, tool use). */
function textOrContent(message: unknown): unknown {
  const raw = read(message, "content");
  if (typeof raw === "string") return raw;
  const compact = compactMessage(message).content;
  if (!isArray(compact)) return compact;
  return compact.every((b) => readString(b, "type") === "text") ? textOf(raw) : compact;
}

export function llmErrorPayload(
  model: { model?: string; provider?: string },
  error: unknown,
  latencyMs: number,
): Payload {
  return { ...model, error: errorInfo(error), latencyMs };
}

/** Structured tools receive their arguments as JSON text; events carry them parsed when they are. */
export function toolArguments(input: unknown): unknown {
  if (typeof input !== "string") return input;
  const first = input.charCodeAt(0);
  // Only `{…}` and `[…]` are worth a parse; "42" or "true" are clearer left as the string the tool got.
  if ((first !== 123 && first !== 91) || input.length > MAX_PARSED_INPUT_LENGTH) return input;
  try {
    return JSON.parse(input);
  } catch {
    return input;
  }
}

export function toolStartPayload(
  name: string,
  callId: string | undefined,
  input: unknown,
  content: boolean,
): Payload {
  const payload: Payload = { name };
  if (callId !== undefined) payload.callId = callId;
  if (content) payload.arguments = toolArguments(input);
  return payload;
}

/**
 * `tool.end` with the tool's result, or `tool.error` when the tool returned an error message
 * (`ToolMessage` with `status: "error"`) instead of throwing.
 */
export function toolEndEvent(
  name: string,
  callId: string | undefined,
  output: unknown,
  latencyMs: number,
  content: boolean,
): { failed: boolean; payload: Payload } {
  const id = callId ?? readString(output, "tool_call_id");
  const payload: Payload = { name };
  if (id !== undefined) payload.callId = id;
  const isToolMessage = isMessage(output);
  const failed = isToolMessage && readString(output, "status") === "error";
  if (failed) {
    payload.error = { message: textOf(output) ?? "tool returned an error" };
  } else if (content) {
    payload.result = isToolMessage ? compactMessage(output).content : compactValue(output);
  }
  payload.latencyMs = latencyMs;
  return { failed, payload };
}

export function toolErrorPayload(
  name: string,
  callId: string | undefined,
  error: unknown,
  latencyMs: number,
): Payload {
  const payload: Payload = { name };
  if (callId !== undefined) payload.callId = callId;
  payload.error = errorInfo(error);
  payload.latencyMs = latencyMs;
  return payload;
}

export function retrieverStartPayload(name: string, query: string, content: boolean): Payload {
  return content ? { name, query } : { name };
}

/** Documents a retriever returned: their text and metadata, and how many there were. */
export function retrieverEndPayload(
  name: string,
  documents: unknown,
  latencyMs: number,
  content: boolean,
): Payload {
  const list = isArray(documents) ? documents : [];
  const payload: Payload = { name, count: list.length, latencyMs };
  if (content) {
    payload.documents = list.map((doc) => ({
      pageContent: read(doc, "pageContent"),
      metadata: read(doc, "metadata"),
      ...(readString(doc, "id") === undefined ? {} : { id: readString(doc, "id") }),
    }));
  }
  return payload;
}

export function agentActionPayload(action: unknown, content: boolean): Payload {
  const payload: Payload = { tool: readString(action, "tool") };
  const callId = readString(action, "toolCallId");
  if (callId !== undefined) payload.callId = callId;
  if (content) {
    payload.arguments = toolArguments(read(action, "toolInput"));
    const log = readString(action, "log");
    if (log) payload.log = log;
  }
  return payload;
}

/** The final answer of a legacy `AgentExecutor` (`AgentFinish.returnValues.output`). */
export function agentFinishText(finish: unknown): string | undefined {
  const output = read(read(finish, "returnValues"), "output");
  return typeof output === "string" && output.length > 0 ? output : undefined;
}

/** Dotted names are event types of their own (`progress.update`); anything else is a `custom` event. */
const DOTTED_TYPE = /^[A-Za-z0-9_][A-Za-z0-9_:-]*(\.[A-Za-z0-9_:-]+)+$/;
const MAX_TYPE_LENGTH = 120;

export function customEvent(
  eventName: unknown,
  data: unknown,
): { type: string | undefined; payload: Payload } {
  const name = typeof eventName === "string" ? eventName : String(eventName);
  if (name.length <= MAX_TYPE_LENGTH && DOTTED_TYPE.test(name)) {
    const payload = isObject(data) && !isArray(data) ? (data as Payload) : { value: data };
    return { type: name, payload };
  }
  return { type: undefined, payload: { name, data } };
}
