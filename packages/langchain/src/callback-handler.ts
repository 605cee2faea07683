import { Chorus } from "@chorus/core";
import type { AgentAction, AgentFinish } from "@langchain/core/agents";
import {
  BaseCallbackHandler,
  type HandleLLMNewTokenCallbackFields,
  type NewTokenIndices,
} from "@langchain/core/callbacks/base";
import type { DocumentInterface } from "@langchain/core/documents";
import type { Serialized } from "@langchain/core/load/serializable";
import type { BaseMessage } from "@langchain/core/messages";
import type { LLMResult } from "@langchain/core/outputs";
import type { ChainValues } from "@langchain/core/utils/types";
import {
  createSafely,
  resolveAdapterLogger,
  resolveClient,
  type Safely,
} from "@chorus/core/adapter-kit";
import type { ChorusCallbackHandlerOptions } from "./options.js";
import type { Callback } from "./callbacks.js";
import { Recorder } from "./recorder.js";

/** Everything a handler and its `copy()`s share, so a run started through one ends through the other. */
interface HandlerState {
  recorder: Recorder;
  safely: Safely;
  /** The handler created the client, so `close()` closes it. */
  owned: boolean;
}

/**
 * Streams every LangChain and LangGraph run to Chorus: the top-level run as `agent.start`/`agent.end`
 * (and `agent.message` with the final answer), model calls as `llm.start`/`llm.end` with usage and
 * time to first token, tool calls as `tool.start`/`tool.end` matched by call id, all in one trace.
 *
 * It only enqueues (never awaits the network) and never throws into LangChain: a hub that is down,
 * a hostile payload or a bug of ours is reported to `onError` and the run goes on unchanged.
 *
 * @example
 * ```ts
 * import { createAgent } from "langchain";
 * import { ChorusCallbackHandler } from "@chorus/langchain";
 *
 * const chorusHandler = new ChorusCallbackHandler({
 *   channel: "support",
 *   chorus: { url: "http://127.0.0.1:7420", apiKey: process.env.CHORUS_API_KEY },
 * });
 * const agent = createAgent({ model: "anthropic:claude-haiku-4-5", tools: [search], name: "support" });
 * await agent.invoke({ messages: [{ role: "user", content: "Where is my order?" }] }, { callbacks: [chorusHandler] });
 * await chorusHandler.flush(); // serverless: deliver before the platform freezes the process
 * ```
 */
export class ChorusCallbackHandler extends BaseCallbackHandler {
  name = "ChorusCallbackHandler";

  /**
   * Awaited, on purpose: every callback is synchronous and only enqueues, so awaiting it costs a
   * microtask, keeps events in the order LangChain raised them, timestamps exact, and the caller's
   * async context (an intent handler's trace) visible. LangChain's background queue would run
   * callbacks later, out of that context.
   */
  override awaitHandlers = true;

  readonly #state: HandlerState;

  constructor(options: ChorusCallbackHandlerOptions = {}) {
    super({ _awaitHandler: true });
    // LangChain's `copy()` calls `new this.constructor(this)`: share state with the original.
    if (options instanceof ChorusCallbackHandler) {
      this.#state = options.#state;
      return;
    }
    const safely = createSafely({
      name: "@chorus/langchain",
      onError: options.onError,
      logger: resolveAdapterLogger(options.logger, options.chorus),
    });
    const { chorus, owned } = resolveClient(options.chorus, (o) => new Chorus(o));
    const recorder = new Recorder({
      chorus,
      safely,
      channel: options.channel,
      agent: options.agent,
      content: options.capture !== "metadata",
      verbose: options.verbose === true,
      emitTokens: options.emitTokens === true,
    });
    this.#state = { recorder, safely, owned };
  }

  /** The client events go through. */
  get chorus(): Chorus {
    return this.#state.recorder.chorus;
  }

  /**
   * Deliver what was emitted so far (`chorus.flush()`). Resolves `false` on timeout; never rejects.
   * In serverless, call it after `awaitAllCallbacks()` and before returning. Model calls whose
   * signal aborted and that LangChain left open are ended as aborted first (see the README).
   */
  async flush(timeoutMs?: number): Promise<boolean> {
    this.#state.safely("flush", () => this.#state.recorder.settle());
    try {
      return await this.chorus.flush(timeoutMs);
    } catch (error) {
      this.#state.safely.report(error, { operation: "flush" });
      return false;
    }
  }

  /**
   * The handler's shutdown, one bounded wait for the hub: a client the handler created is closed
   * within `timeoutMs` (default: its `drainTimeoutMs`), aborting what is still in flight; a client
   * you passed in is drained within its `drainTimeoutMs` (or `timeoutMs` if shorter) and stays open.
   */
  async close(timeoutMs?: number): Promise<void> {
    this.#state.safely("close", () => this.#state.recorder.settle());
    try {
      const chorus = this.chorus;
      if (this.#state.owned) await chorus.close(timeoutMs ?? chorus.options.drainTimeoutMs);
      else await chorus.drain(timeoutMs);
    } catch (error) {
      this.#state.safely.report(error, { operation: "close" });
    }
  }

  override handleChainStart(
    serialized: Serialized,
    inputs: ChainValues,
    runId: string,
    parentRunId?: string,
    tags?: string[],
    metadata?: Record<string, unknown>,
    _runType?: string,
    runName?: string,
  ): void {
    this.#record({
      callback: "handleChainStart",
      runId,
      parentRunId,
      serialized,
      inputs,
      tags,
      metadata,
      runName,
    });
  }

  override handleChainEnd(outputs: ChainValues, runId: string): void {
    this.#record({ callback: "handleChainEnd", runId, outputs });
  }

  override handleChainError(error: unknown, runId: string): void {
    this.#record({ callback: "handleChainError", runId, error });
  }

  override handleChatModelStart(
    serialized: Serialized,
    messages: BaseMessage[][],
    runId: string,
    parentRunId?: string,
    extraParams?: Record<string, unknown>,
    _tags?: string[],
    metadata?: Record<string, unknown>,
    runName?: string,
  ): void {
    this.#record({
      callback: "handleChatModelStart",
      runId,
      parentRunId,
      serialized,
      messages,
      extraParams,
      metadata,
      runName,
    });
  }

  override handleLLMStart(
    serialized: Serialized,
    prompts: string[],
    runId: string,
    parentRunId?: string,
    extraParams?: Record<string, unknown>,
    _tags?: string[],
    metadata?: Record<string, unknown>,
    runName?: string,
  ): void {
    this.#record({
      callback: "handleLLMStart",
      runId,
      parentRunId,
      serialized,
      prompts,
      extraParams,
      metadata,
      runName,
    });
  }

  override handleLLMNewToken(
    token: string,
    _idx: NewTokenIndices,
    runId: string,
    _parentRunId?: string,
    _tags?: string[],
    fields?: HandleLLMNewTokenCallbackFields,
  ): void {
    this.#record({ callback: "handleLLMNewToken", runId, token, fields });
  }

  override handleLLMEnd(output: LLMResult, runId: string): void {
    this.#record({ callback: "handleLLMEnd", runId, output });
  }

  override handleLLMError(error: unknown, runId: string): void {
    this.#record({ callback: "handleLLMError", runId, error });
  }

  override handleToolStart(
    serialized: Serialized,
    input: string,
    runId: string,
    parentRunId?: string,
    _tags?: string[],
    metadata?: Record<string, unknown>,
    runName?: string,
    toolCallId?: string,
  ): void {
    this.#record({
      callback: "handleToolStart",
      runId,
      parentRunId,
      serialized,
      input,
      metadata,
      runName,
      toolCallId,
    });
  }

  override handleToolEnd(output: unknown, runId: string): void {
    this.#record({ callback: "handleToolEnd", runId, output });
  }

  override handleToolError(error: unknown, runId: string): void {
    this.#record({ callback: "handleToolError", runId, error });
  }

  override handleAgentAction(action: AgentAction, runId: string): void {
    this.#record({ callback: "handleAgentAction", runId, action });
  }

  override handleAgentEnd(finish: AgentFinish, runId: string): void {
    this.#record({ callback: "handleAgentEnd", runId, finish });
  }

  override handleRetrieverStart(
    serialized: Serialized,
    query: string,
    runId: string,
    parentRunId?: string,
    _tags?: string[],
    metadata?: Record<string, unknown>,
    runName?: string,
  ): void {
    this.#record({
      callback: "handleRetrieverStart",
      runId,
      parentRunId,
      serialized,
      query,
      metadata,
      runName,
    });
  }

  override handleRetrieverEnd(documents: DocumentInterface[], runId: string): void {
    this.#record({ callback: "handleRetrieverEnd", runId, documents });
  }

  override handleRetrieverError(error: unknown, runId: string): void {
    this.#record({ callback: "handleRetrieverError", runId, error });
  }

  override handleCustomEvent(name: string, data: unknown, runId: string): void {
    this.#record({ callback: "handleCustomEvent", runId, name, data });
  }

  // ---- the guard ----------------------------------------------------------------------------

  /** Every callback runs through here: whatever happens inside, LangChain gets `undefined` back. */
  #record(callback: Callback): void {
    const { recorder, safely } = this.#state;
    safely(callback.callback, () => recorder.record(callback));
  }
}
