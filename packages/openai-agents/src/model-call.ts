import { toTokenUsage } from "./usage.js";
import type { TokenUsage } from "@chorus/core";

/** What one model call said, read from a generation or response span. */
export interface ModelCall {
  model?: string;
  /** Who serves the model, as every adapter names it (`openai`, `anthropic`, …). */
  provider?: string;
  params?: Record<string, unknown>;
  messages?: unknown[];
  usage?: TokenUsage;
  finishReason?: string;
  /** Assistant text of the answer, joined. */
  text?: string;
  toolCalls: { name: string; callId?: string }[];
  responseId?: string;
}

type Bag = Record<string, unknown>;

/** The provider of the SDK's own models: the Responses API, and Chat Completions. */
const OPENAI = "openai";

/**
 * A generation span (Chat Completions and other providers): `output` is `[completion]` with
 * `choices`, or a list of messages; usage sits on the span or on the completion.
 */
export function fromGeneration(data: Bag): ModelCall {
  const call: ModelCall = { toolCalls: [] };
  const outputs = Array.isArray(data.output) ? data.output : [];
  const completion = outputs.find((o): o is Bag => isBag(o) && Array.isArray(o.choices));
  call.model = str(data.model) ?? str(completion?.model);
  const config = isBag(data.model_config) ? data.model_config : undefined;
  if (config) call.params = definedOnly(config);
  // The SDK's AI SDK bridge (`aisdk()` of @openai/agents-extensions) names the AI SDK provider
  // (`anthropic.messages`) and writes the model as `<provider>:<modelId>`; the SDK's own
  // Chat Completions model names none.
  const sdkProvider = str(config?.provider);
  if (sdkProvider !== undefined) {
    const dot = sdkProvider.indexOf(".");
    call.provider = dot > 0 ? sdkProvider.slice(0, dot) : sdkProvider;
    if (call.model?.startsWith(`${sdkProvider}:`))
      call.model = call.model.slice(sdkProvider.length + 1) || undefined;
  } else call.provider = OPENAI;
  if (Array.isArray(data.input)) call.messages = data.input;
  call.usage = toTokenUsage(data.usage) ?? toTokenUsage(completion?.usage);
  if (completion) {
    const choice = (completion.choices as unknown[])[0];
    const message = isBag(choice) ? choice.message : undefined;
    if (isBag(choice)) call.finishReason = str(choice.finish_reason);
    if (isBag(message)) {
      call.text = str(message.content);
      for (const tc of list(message.tool_calls)) {
        const fn = isBag(tc.function) ? tc.function : tc;
        const name = str(fn.name);
        if (name) call.toolCalls.push({ name, callId: str(tc.id) });
      }
    }
  } else {
    readItems(outputs, call);
  }
  call.finishReason ??= call.toolCalls.length > 0 ? "tool_calls" : undefined;
  return call;
}

/** A response span (Responses API): the raw response is `_response`, the request input `_input`. */
export function fromResponse(data: Bag): ModelCall {
  const call: ModelCall = { toolCalls: [], provider: OPENAI };
  const response = isBag(data._response) ? data._response : undefined;
  call.responseId = str(data.response_id) ?? str(response?.id);
  if (Array.isArray(data._input)) call.messages = data._input;
  else if (typeof data._input === "string")
    call.messages = [{ role: "user", content: data._input }];
  if (!response) return call;
  call.model = str(response.model);
  call.usage = toTokenUsage(response.usage);
  readItems(list(response.output), call);
  call.finishReason = responseFinishReason(response, call.toolCalls.length > 0);
  return call;
}

/** Output items in the Responses / SDK protocol shape: messages and function calls. */
function readItems(items: readonly unknown[], call: ModelCall): void {
  const texts: string[] = [];
  for (const item of items) {
    if (!isBag(item)) continue;
    if (item.type === "function_call" || item.type === "tool_call") {
      const name = str(item.name);
      if (name) call.toolCalls.push({ name, callId: str(item.call_id) ?? str(item.callId) });
      continue;
    }
    if (item.role !== "assistant") continue;
    if (typeof item.content === "string") texts.push(item.content);
    for (const part of list(item.content)) {
      const text = str(part.text);
      if (text !== undefined && (part.type === "output_text" || part.type === "text"))
        texts.push(text);
    }
  }
  if (texts.length > 0) call.text = texts.join("");
}

/** Normalised to the protocol's vocabulary where the Responses API allows. */
function responseFinishReason(response: Bag, hasToolCalls: boolean): string | undefined {
  const status = str(response.status);
  if (status === "incomplete") {
    const reason = isBag(response.incomplete_details)
      ? str(response.incomplete_details.reason)
      : undefined;
    return reason === "max_output_tokens" ? "length" : (reason ?? "incomplete");
  }
  if (status === "completed") return hasToolCalls ? "tool_calls" : "stop";
  return status;
}

function list(value: unknown): Bag[] {
  return Array.isArray(value) ? value.filter(isBag) : [];
}

function definedOnly(bag: Bag): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(bag))
    if (value !== undefined && value !== null) out[key] = value;
  return Object.keys(out).length > 0 ? out : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function isBag(value: unknown): value is Bag {
  return typeof value === "object" && value !== null;
}
