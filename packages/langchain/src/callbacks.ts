import type { AgentAction, AgentFinish } from "@langchain/core/agents";
import type { HandleLLMNewTokenCallbackFields } from "@langchain/core/callbacks/base";
import type { DocumentInterface } from "@langchain/core/documents";
import type { Serialized } from "@langchain/core/load/serializable";
import type { BaseMessage } from "@langchain/core/messages";
import type { LLMResult } from "@langchain/core/outputs";
import type { ChainValues } from "@langchain/core/utils/types";

/*
 * What each LangChain callback says, read once: the handler turns its positional parameters into
 * one of these and hands it on, so the recorder never sees a parameter list. `callback` names the
 * LangChain method it came from (also the `operation` `onError` gets). Parameters the recorder has
 * no use for (tags of a model call, a token's indices) are left out here, on purpose, and nowhere
 * else: every field below is read by the recorder (`Recorder.record` checks that it reads them all).
 */

/** A chain or graph run begins: the root run, a named sub-agent, a node, a lambda. */
export interface ChainStart {
  callback: "handleChainStart";
  runId: string;
  parentRunId: string | undefined;
  serialized: Serialized;
  inputs: ChainValues;
  /** LangGraph marks its plumbing `langsmith:hidden`. */
  tags: string[] | undefined;
  metadata: Record<string, unknown> | undefined;
  runName: string | undefined;
}

export interface ChainEnd {
  callback: "handleChainEnd";
  runId: string;
  outputs: ChainValues;
}

export interface ChainError {
  callback: "handleChainError";
  runId: string;
  error: unknown;
}

/** What a model call's start says, whether a chat model's or a text LLM's. */
export interface ModelStart {
  runId: string;
  parentRunId: string | undefined;
  serialized: Serialized;
  /** `invocation_params`: the model name and the tools offered. */
  extraParams: Record<string, unknown> | undefined;
  metadata: Record<string, unknown> | undefined;
  runName: string | undefined;
}

/** A chat model is called with one list of messages. */
export interface ChatModelStart extends ModelStart {
  callback: "handleChatModelStart";
  /** One list per prompt; a chat model call has one. */
  messages: BaseMessage[][];
}

/** A text LLM is called with prompts. */
export interface LlmStart extends ModelStart {
  callback: "handleLLMStart";
  prompts: string[];
}

export interface LlmToken {
  callback: "handleLLMNewToken";
  runId: string;
  token: string;
  /** Its `chunk`: the same chunk twice is the same callback delivered twice. */
  fields: HandleLLMNewTokenCallbackFields | undefined;
}

export interface LlmEnd {
  callback: "handleLLMEnd";
  runId: string;
  output: LLMResult;
}

export interface LlmError {
  callback: "handleLLMError";
  runId: string;
  error: unknown;
}

export interface ToolStart {
  callback: "handleToolStart";
  runId: string;
  parentRunId: string | undefined;
  serialized: Serialized;
  input: string;
  metadata: Record<string, unknown> | undefined;
  /** The tool's own name (the serialized id only says `DynamicStructuredTool`). */
  runName: string | undefined;
  toolCallId: string | undefined;
}

export interface ToolEnd {
  callback: "handleToolEnd";
  runId: string;
  output: unknown;
}

export interface ToolError {
  callback: "handleToolError";
  runId: string;
  error: unknown;
}

/** A legacy `AgentExecutor` chose a tool. */
export interface AgentStep {
  callback: "handleAgentAction";
  runId: string;
  action: AgentAction;
}

/** A legacy `AgentExecutor` answered. */
export interface AgentAnswer {
  callback: "handleAgentEnd";
  runId: string;
  finish: AgentFinish;
}

export interface RetrieverStart {
  callback: "handleRetrieverStart";
  runId: string;
  parentRunId: string | undefined;
  serialized: Serialized;
  query: string;
  metadata: Record<string, unknown> | undefined;
  runName: string | undefined;
}

export interface RetrieverEnd {
  callback: "handleRetrieverEnd";
  runId: string;
  documents: DocumentInterface[];
}

export interface RetrieverError {
  callback: "handleRetrieverError";
  runId: string;
  error: unknown;
}

/** `dispatchCustomEvent(name, data)`. */
export interface CustomEvent {
  callback: "handleCustomEvent";
  runId: string;
  name: string;
  data: unknown;
}

export type Callback =
  | ChainStart
  | ChainEnd
  | ChainError
  | ChatModelStart
  | LlmStart
  | LlmToken
  | LlmEnd
  | LlmError
  | ToolStart
  | ToolEnd
  | ToolError
  | AgentStep
  | AgentAnswer
  | RetrieverStart
  | RetrieverEnd
  | RetrieverError
  | CustomEvent;

/** The LangChain method a callback object came from. */
export type CallbackName = Callback["callback"];
