import type { Chorus } from "@chorus/core";
import { EventTypes } from "@chorus/core";
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
import { isControlFlow } from "./errors.js";
import * as map from "./mapping.js";
import { finalAssistantText } from "./messages.js";
import { type ChorusCallbackHandlerOptions, resolveClient } from "./options.js";
import { AdapterEventTypes } from "./payloads.js";
import { type Run, RunTracker } from "./run-tracker.js";
import { Reporter, safely } from "./safely.js";

/** LangGraph tags its plumbing (`__start__`, channel writes) with this; even verbose mode skips it. */
const HIDDEN_TAG = "langsmith:hidden";

/** Everything a handler and its `copy()`s share, so a run started through one ends through the other. */
interface HandlerState {
  tracker: RunTracker;
  reporter: Reporter;
  owned: boolean;
  content: boolean;
  verbose: boolean;
  emitTokens: boolean;
  /** The last custom event seen, to drop the same dispatch delivered twice. */
  lastCustom: { runId: string; name: string; data: unknown } | undefined;
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
    const reporter = new Reporter(options.onError, options.logger);
    const { chorus, owned } = resolveClient(options.chorus);
    this.#state = {
      tracker: new RunTracker(chorus, options.channel, options.agent),
      reporter,
      owned,
      content: options.capture !== "metadata",
      verbose: options.verbose === true,
      emitTokens: options.emitTokens === true,
      lastCustom: undefined,
    };
  }

  /** The client events go through. */
  get chorus(): Chorus {
    return this.#state.tracker.chorus;
  }

  /**
   * Deliver what was emitted so far (`chorus.flush()`). Resolves `false` on timeout; never rejects.
   * In serverless, call it after `awaitAllCallbacks()` and before returning.
   */
  async flush(timeoutMs?: number): Promise<boolean> {
    try {
      return await this.chorus.flush(timeoutMs);
    } catch (error) {
      this.#state.reporter.report(error, { operation: "flush" });
      return false;
    }
  }

  /** Flush and close the client if the handler created it; a client you passed in stays open. */
  async close(timeoutMs?: number): Promise<void> {
    try {
      if (this.#state.owned) await this.chorus.close(timeoutMs);
      else await this.chorus.flush(timeoutMs);
    } catch (error) {
      this.#state.reporter.report(error, { operation: "close" });
    }
  }

  // ---- chains: the root is the agent ------------------------------------------------------

  override handleChainStart(
    chain: Serialized,
    inputs: ChainValues,
    runId: string,
    parentRunId?: string,
    tags?: string[],
    metadata?: Record<string, unknown>,
    _runType?: string,
    runName?: string,
  ): void {
    this.#guard("handleChainStart", () => {
      const { tracker } = this.#state;
      if (tracker.has(runId)) return; // the same handler registered twice
      const parent = tracker.parentOf(parentRunId);
      const name = this.#name("handleChainStart", runName, chain, "chain");
      const graphName = this.#map(
        "handleChainStart",
        () => map.graphNameOf(chain, runName),
        undefined,
      );
      const kind = !parent
        ? "agent"
        : tracker.isSubAgent(parent, graphName)
          ? "agent"
          : this.#state.verbose && !tags?.includes(HIDDEN_TAG)
            ? "chain"
            : "hidden";
      const run = tracker.open({
        kind,
        runId,
        parentRunId,
        parent,
        name,
        lcMetadata: metadata,
        graphName,
      });
      if (kind === "hidden") return;
      if (kind === "agent" && parent?.agentName !== undefined && run.agentName !== undefined) {
        const from = parent.agentName;
        const to = run.agentName;
        tracker.emit(
          EventTypes.AgentHandoff,
          run,
          this.#map("handleChainStart", () => map.handoffPayload(from, to), { from, to }),
        );
      }
      const payload = this.#map(
        "handleChainStart",
        () => map.runStartPayload(name, inputs, this.#state.content),
        { name },
      );
      tracker.emit(
        kind === "agent" ? EventTypes.AgentStart : AdapterEventTypes.ChainStart,
        run,
        payload,
      );
    });
  }

  override handleChainEnd(outputs: ChainValues, runId: string): void {
    this.#guard("handleChainEnd", () => {
      const { tracker, content } = this.#state;
      const run = tracker.take(runId);
      if (!run || run.kind === "hidden") return;
      const latencyMs = elapsed(run);
      if (run.kind === "agent") {
        if (content && run.root.llmCalls > 0 && !run.messageEmitted) {
          const text = this.#map("handleChainEnd", () => finalAssistantText(outputs), undefined);
          if (text !== undefined)
            tracker.emit(
              EventTypes.AgentMessage,
              run,
              this.#map("handleChainEnd", () => map.messagePayload(text), {
                role: "assistant",
                text,
              }),
            );
        }
        const payload = this.#map(
          "handleChainEnd",
          () => map.runEndPayload(run.name, outputs, latencyMs, content),
          { name: run.name, latencyMs },
        );
        tracker.emit(EventTypes.AgentEnd, run, payload);
        return;
      }
      const payload = this.#map(
        "handleChainEnd",
        () => map.runEndPayload(run.name, outputs, latencyMs, content),
        { name: run.name, latencyMs },
      );
      tracker.emit(AdapterEventTypes.ChainEnd, run, payload);
    });
  }

  override handleChainError(error: unknown, runId: string): void {
    this.#guard("handleChainError", () => {
      const run = this.#state.tracker.take(runId);
      if (!run || run.kind === "hidden") return;
      const latencyMs = elapsed(run);
      const isAgent = run.kind === "agent";
      if (isControlFlow(error)) {
        const type = isAgent ? EventTypes.AgentEnd : AdapterEventTypes.ChainEnd;
        this.#state.tracker.emit(
          type,
          run,
          this.#map("handleChainError", () => map.interruptedPayload(run.name, latencyMs), {
            name: run.name,
            interrupted: true,
            latencyMs,
          }),
        );
        return;
      }
      const type = isAgent ? EventTypes.AgentError : AdapterEventTypes.ChainError;
      this.#state.tracker.emit(
        type,
        run,
        this.#map("handleChainError", () => map.runErrorPayload(run.name, error, latencyMs), {
          name: run.name,
          error: { message: "unknown error" },
          latencyMs,
        }),
      );
    });
  }

  // ---- model calls ------------------------------------------------------------------------

  override handleChatModelStart(
    llm: Serialized,
    messages: BaseMessage[][],
    runId: string,
    parentRunId?: string,
    extraParams?: Record<string, unknown>,
    _tags?: string[],
    metadata?: Record<string, unknown>,
    runName?: string,
  ): void {
    this.#guard("handleChatModelStart", () => {
      this.#llmStart(
        llm,
        { messages: messages[0] },
        runId,
        parentRunId,
        extraParams,
        metadata,
        runName,
      );
    });
  }

  override handleLLMStart(
    llm: Serialized,
    prompts: string[],
    runId: string,
    parentRunId?: string,
    extraParams?: Record<string, unknown>,
    _tags?: string[],
    metadata?: Record<string, unknown>,
    runName?: string,
  ): void {
    this.#guard("handleLLMStart", () => {
      this.#llmStart(llm, { prompts }, runId, parentRunId, extraParams, metadata, runName);
    });
  }

  #llmStart(
    llm: Serialized,
    prompt: { messages?: unknown; prompts?: unknown },
    runId: string,
    parentRunId: string | undefined,
    extraParams: Record<string, unknown> | undefined,
    metadata: Record<string, unknown> | undefined,
    runName: string | undefined,
  ): void {
    const { tracker, content } = this.#state;
    if (tracker.has(runId)) return;
    const parent = tracker.parentOf(parentRunId);
    const name = this.#name("handleLLMStart", runName, llm, "llm");
    const run = tracker.open({
      kind: "llm",
      runId,
      parentRunId,
      parent,
      name,
      lcMetadata: metadata,
    });
    run.root.llmCalls++;
    run.model = this.#map("handleLLMStart", () => map.modelOf(llm, extraParams, metadata), {});
    const payload = this.#map(
      "handleLLMStart",
      () => map.llmStartPayload(run.model, prompt, extraParams, metadata, content),
      { ...run.model },
    );
    tracker.emit(EventTypes.LlmStart, run, payload);
  }

  override handleLLMNewToken(
    token: string,
    _idx: NewTokenIndices,
    runId: string,
    _parentRunId?: string,
    _tags?: string[],
    fields?: HandleLLMNewTokenCallbackFields,
  ): void {
    this.#guard("handleLLMNewToken", () => {
      const run = this.#state.tracker.get(runId);
      if (!run) return;
      const chunk = fields?.chunk;
      if (chunk !== undefined) {
        if (chunk === run.lastSeen) return; // the same chunk delivered twice
        run.lastSeen = chunk;
      }
      run.firstTokenAt ??= performance.now();
      const index = run.tokens++;
      if (this.#state.emitTokens && this.#state.content) {
        this.#state.tracker.emit(EventTypes.LlmToken, run, { token, index });
      }
    });
  }

  override handleLLMEnd(output: LLMResult, runId: string): void {
    this.#guard("handleLLMEnd", () => {
      const { tracker, content } = this.#state;
      const run = tracker.take(runId);
      if (!run) return;
      const timing = {
        latencyMs: elapsed(run),
        timeToFirstTokenMs:
          run.firstTokenAt === undefined ? undefined : round(run.firstTokenAt - run.startedAt),
      };
      const payload = this.#map(
        "handleLLMEnd",
        () => map.llmEndPayload(run.model, output, timing, content),
        {
          ...run.model,
          ...timing,
        },
      );
      tracker.emit(EventTypes.LlmEnd, run, payload);
    });
  }

  override handleLLMError(error: unknown, runId: string): void {
    this.#guard("handleLLMError", () => {
      const run = this.#state.tracker.take(runId);
      if (!run) return;
      const latencyMs = elapsed(run);
      const payload = this.#map(
        "handleLLMError",
        () => map.llmErrorPayload(run.model, error, latencyMs),
        {
          ...run.model,
          error: { message: "unknown error" },
          latencyMs,
        },
      );
      this.#state.tracker.emit(EventTypes.LlmError, run, payload);
    });
  }

  // ---- tools ------------------------------------------------------------------------------

  override handleToolStart(
    tool: Serialized,
    input: string,
    runId: string,
    parentRunId?: string,
    _tags?: string[],
    metadata?: Record<string, unknown>,
    runName?: string,
    toolCallId?: string,
  ): void {
    this.#guard("handleToolStart", () => {
      const { tracker, content } = this.#state;
      if (tracker.has(runId)) return;
      const parent = tracker.parentOf(parentRunId);
      // runName is the tool's own name; the serialized id only says "DynamicStructuredTool".
      const name = this.#name("handleToolStart", runName, tool, "tool");
      const run = tracker.open({
        kind: "tool",
        runId,
        parentRunId,
        parent,
        name,
        lcMetadata: metadata,
      });
      run.callId = typeof toolCallId === "string" ? toolCallId : undefined;
      const payload = this.#map(
        "handleToolStart",
        () => map.toolStartPayload(name, run.callId, input, content),
        {
          name,
          callId: run.callId,
        },
      );
      tracker.emit(EventTypes.ToolStart, run, payload);
    });
  }

  override handleToolEnd(output: unknown, runId: string): void {
    this.#guard("handleToolEnd", () => {
      const { tracker, content } = this.#state;
      const run = tracker.take(runId);
      if (!run) return;
      const latencyMs = elapsed(run);
      const { failed, payload } = this.#map(
        "handleToolEnd",
        () => map.toolEndEvent(run.name, run.callId, output, latencyMs, content),
        { failed: false, payload: { name: run.name, callId: run.callId, latencyMs } },
      );
      tracker.emit(failed ? EventTypes.ToolError : EventTypes.ToolEnd, run, payload);
    });
  }

  override handleToolError(error: unknown, runId: string): void {
    this.#guard("handleToolError", () => {
      const run = this.#state.tracker.take(runId);
      if (!run) return;
      const latencyMs = elapsed(run);
      if (isControlFlow(error)) {
        // interrupt() inside a tool: the call is paused for a human, not failed.
        const extra = run.callId === undefined ? {} : { callId: run.callId };
        const payload = this.#map(
          "handleToolError",
          () => map.interruptedPayload(run.name, latencyMs, extra),
          {
            name: run.name,
            ...extra,
            interrupted: true,
            latencyMs,
          },
        );
        this.#state.tracker.emit(EventTypes.ToolEnd, run, payload);
        return;
      }
      const payload = this.#map(
        "handleToolError",
        () => map.toolErrorPayload(run.name, run.callId, error, latencyMs),
        {
          name: run.name,
          callId: run.callId,
          error: { message: "unknown error" },
          latencyMs,
        },
      );
      this.#state.tracker.emit(EventTypes.ToolError, run, payload);
    });
  }

  // ---- legacy AgentExecutor steps ---------------------------------------------------------

  override handleAgentAction(action: AgentAction, runId: string): void {
    this.#guard("handleAgentAction", () => {
      const run = this.#state.tracker.get(runId);
      if (run && run.lastSeen === action) return;
      if (run) run.lastSeen = action;
      const payload = this.#map(
        "handleAgentAction",
        () => map.agentActionPayload(action, this.#state.content),
        {},
      );
      this.#state.tracker.emit(AdapterEventTypes.AgentAction, run, payload);
    });
  }

  override handleAgentEnd(finish: AgentFinish, runId: string): void {
    this.#guard("handleAgentEnd", () => {
      if (!this.#state.content) return;
      const run = this.#state.tracker.get(runId);
      if (run && run.lastSeen === finish) return;
      if (run) run.lastSeen = finish;
      const text = this.#map("handleAgentEnd", () => map.agentFinishText(finish), undefined);
      if (text === undefined) return;
      if (run) run.root.messageEmitted = true;
      this.#state.tracker.emit(
        EventTypes.AgentMessage,
        run?.root,
        this.#map("handleAgentEnd", () => map.messagePayload(text), { role: "assistant", text }),
      );
    });
  }

  // ---- retrievers -------------------------------------------------------------------------

  override handleRetrieverStart(
    retriever: Serialized,
    query: string,
    runId: string,
    parentRunId?: string,
    _tags?: string[],
    metadata?: Record<string, unknown>,
    name?: string,
  ): void {
    this.#guard("handleRetrieverStart", () => {
      const { tracker, content } = this.#state;
      if (tracker.has(runId)) return;
      const parent = tracker.parentOf(parentRunId);
      const runName = this.#name("handleRetrieverStart", name, retriever, "retriever");
      const run = tracker.open({
        kind: "retriever",
        runId,
        parentRunId,
        parent,
        name: runName,
        lcMetadata: metadata,
      });
      tracker.emit(
        AdapterEventTypes.RetrieverStart,
        run,
        this.#map(
          "handleRetrieverStart",
          () => map.retrieverStartPayload(runName, query, content),
          { name: runName },
        ),
      );
    });
  }

  override handleRetrieverEnd(documents: DocumentInterface[], runId: string): void {
    this.#guard("handleRetrieverEnd", () => {
      const { tracker, content } = this.#state;
      const run = tracker.take(runId);
      if (!run) return;
      const latencyMs = elapsed(run);
      const payload = this.#map(
        "handleRetrieverEnd",
        () => map.retrieverEndPayload(run.name, documents, latencyMs, content),
        {
          name: run.name,
          latencyMs,
        },
      );
      tracker.emit(AdapterEventTypes.RetrieverEnd, run, payload);
    });
  }

  override handleRetrieverError(error: unknown, runId: string): void {
    this.#guard("handleRetrieverError", () => {
      const run = this.#state.tracker.take(runId);
      if (!run) return;
      const latencyMs = elapsed(run);
      const payload = this.#map(
        "handleRetrieverError",
        () => map.runErrorPayload(run.name, error, latencyMs),
        {
          name: run.name,
          error: { message: "unknown error" },
          latencyMs,
        },
      );
      this.#state.tracker.emit(AdapterEventTypes.RetrieverError, run, payload);
    });
  }

  // ---- custom events (dispatchCustomEvent) ------------------------------------------------

  override handleCustomEvent(eventName: string, data: unknown, runId: string): void {
    this.#guard("handleCustomEvent", () => {
      const last = this.#state.lastCustom;
      if (last && last.runId === runId && last.name === eventName && last.data === data) return;
      this.#state.lastCustom = { runId, name: eventName, data };
      const { type, payload } = this.#map(
        "handleCustomEvent",
        () => map.customEvent(eventName, data),
        { type: undefined, payload: { name: String(eventName) } },
      );
      this.#state.tracker.emit(type ?? EventTypes.Custom, this.#state.tracker.get(runId), payload);
    });
  }

  // ---- the guard ----------------------------------------------------------------------------

  /** Every callback runs through here: whatever happens inside, LangChain gets `undefined` back. */
  #guard(operation: string, fn: () => void): void {
    safely(this.#state.reporter, operation, fn, undefined);
  }

  /** A run's display name: LangChain's run name, else the serialized component's. */
  #name(
    operation: string,
    runName: string | undefined,
    serialized: unknown,
    fallback: string,
  ): string {
    if (typeof runName === "string" && runName.length > 0) return runName;
    return this.#map(operation, () => map.serializedName(serialized), undefined) ?? fallback;
  }

  /** A payload that could not be built costs its content fields, not the event (nor the run's end). */
  #map<T>(operation: string, build: () => T, fallback: T): T {
    return safely(this.#state.reporter, `${operation} (mapping)`, build, fallback);
  }
}

function elapsed(run: Run): number {
  return round(performance.now() - run.startedAt);
}

/** Milliseconds with microsecond precision: enough for latency, short on the wire. */
function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
