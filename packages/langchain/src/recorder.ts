import type { Chorus } from "@chorus/core";
import type { Safely } from "@chorus/core/adapter-kit";
import { EventTypes } from "@chorus/core";
import type { AgentAction, AgentFinish } from "@langchain/core/agents";
import type { HandleLLMNewTokenCallbackFields } from "@langchain/core/callbacks/base";
import type { DocumentInterface } from "@langchain/core/documents";
import type { Serialized } from "@langchain/core/load/serializable";
import type { BaseMessage } from "@langchain/core/messages";
import type { LLMResult } from "@langchain/core/outputs";
import type { ChainValues } from "@langchain/core/utils/types";
import { isControlFlow, isInterrupt } from "./errors.js";
import * as map from "./mapping.js";
import { finalAssistantText } from "./messages.js";
import { AdapterEventTypes } from "./payloads.js";
import { type Run, RunTracker } from "./run-tracker.js";

/** LangGraph tags its plumbing (`__start__`, channel writes) with this; even verbose mode skips it. */
const HIDDEN_TAG = "langsmith:hidden";

export interface RecorderOptions {
  chorus: Chorus;
  safely: Safely;
  channel: string | undefined;
  agent: string | undefined;
  /** `false` is `capture: "metadata"`. */
  content: boolean;
  verbose: boolean;
  emitTokens: boolean;
}

interface HandlerState {
  tracker: RunTracker;
  safely: Safely;
  content: boolean;
  verbose: boolean;
  emitTokens: boolean;
  /** The last custom event seen, to drop the same dispatch delivered twice. */
  lastCustom: { runId: string; name: string; data: unknown } | undefined;
}

/**
 * What each LangChain callback means for Chorus: which run it opens or closes, which event it
 * emits, and what is left when a payload cannot be mapped. Callers guard every call (see
 * `ChorusCallbackHandler`); inside, each mapping is guarded again so that one bad field costs
 * that field, not the event or the run's end.
 */
export class Recorder {
  readonly #state: HandlerState;

  constructor(options: RecorderOptions) {
    this.#state = {
      tracker: new RunTracker(options.chorus, options.channel, options.agent),
      safely: options.safely,
      content: options.content,
      verbose: options.verbose,
      emitTokens: options.emitTokens,
      lastCustom: undefined,
    };
  }

  get chorus(): Chorus {
    return this.#state.tracker.chorus;
  }

  chainStart(
    chain: Serialized,
    inputs: ChainValues,
    runId: string,
    parentRunId?: string,
    tags?: string[],
    metadata?: Record<string, unknown>,
    runName?: string,
  ): void {
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
  }

  chainEnd(outputs: ChainValues, runId: string): void {
    const { tracker, content } = this.#state;
    const run = tracker.take(runId);
    if (!run || run.kind === "hidden") return;
    const latencyMs = elapsed(run);
    if (run.kind === "agent") {
      if (content && run.llmCalls > 0 && !run.messageEmitted) {
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
      // A paused graph's root ends normally (its output carries `__interrupt__`); the node that
      // called interrupt() threw, which marked the tree.
      tracker.emit(
        EventTypes.AgentEnd,
        run,
        run === run.root && run.interrupted ? { ...payload, interrupted: true } : payload,
      );
      return;
    }
    const payload = this.#map(
      "handleChainEnd",
      () => map.runEndPayload(run.name, outputs, latencyMs, content),
      { name: run.name, latencyMs },
    );
    tracker.emit(AdapterEventTypes.ChainEnd, run, payload);
  }

  chainError(error: unknown, runId: string): void {
    const run = this.#state.tracker.take(runId);
    if (run && isInterrupt(error)) run.root.interrupted = true;
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
  }

  chatModelStart(
    llm: Serialized,
    messages: BaseMessage[][],
    runId: string,
    parentRunId?: string,
    extraParams?: Record<string, unknown>,
    metadata?: Record<string, unknown>,
    runName?: string,
  ): void {
    this.#openLlm(
      llm,
      { messages: messages[0] },
      runId,
      parentRunId,
      extraParams,
      metadata,
      runName,
    );
  }

  llmStart(
    llm: Serialized,
    prompts: string[],
    runId: string,
    parentRunId?: string,
    extraParams?: Record<string, unknown>,
    metadata?: Record<string, unknown>,
    runName?: string,
  ): void {
    this.#openLlm(llm, { prompts }, runId, parentRunId, extraParams, metadata, runName);
  }

  llmToken(token: string, runId: string, fields?: HandleLLMNewTokenCallbackFields): void {
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
  }

  llmEnd(output: LLMResult, runId: string): void {
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
  }

  llmError(error: unknown, runId: string): void {
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
  }

  toolStart(
    tool: Serialized,
    input: string,
    runId: string,
    parentRunId?: string,
    metadata?: Record<string, unknown>,
    runName?: string,
    toolCallId?: string,
  ): void {
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
  }

  toolEnd(output: unknown, runId: string): void {
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
  }

  toolError(error: unknown, runId: string): void {
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
  }

  agentAction(action: AgentAction, runId: string): void {
    const run = this.#state.tracker.get(runId);
    if (run && run.lastSeen === action) return;
    if (run) run.lastSeen = action;
    const payload = this.#map(
      "handleAgentAction",
      () => map.agentActionPayload(action, this.#state.content),
      {},
    );
    this.#state.tracker.emit(AdapterEventTypes.AgentAction, run, payload);
  }

  agentFinish(finish: AgentFinish, runId: string): void {
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
  }

  retrieverStart(
    retriever: Serialized,
    query: string,
    runId: string,
    parentRunId?: string,
    metadata?: Record<string, unknown>,
    name?: string,
  ): void {
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
      this.#map("handleRetrieverStart", () => map.retrieverStartPayload(runName, query, content), {
        name: runName,
      }),
    );
  }

  retrieverEnd(documents: DocumentInterface[], runId: string): void {
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
  }

  retrieverError(error: unknown, runId: string): void {
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
  }

  customEvent(eventName: string, data: unknown, runId: string): void {
    const last = this.#state.lastCustom;
    if (last && last.runId === runId && last.name === eventName && last.data === data) return;
    this.#state.lastCustom = { runId, name: eventName, data };
    const { type, payload } = this.#map(
      "handleCustomEvent",
      () => map.customEvent(eventName, data),
      { type: undefined, payload: { name: String(eventName) } },
    );
    this.#state.tracker.emit(type ?? EventTypes.Custom, this.#state.tracker.get(runId), payload);
  }

  #openLlm(
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
    run.owner.llmCalls++;
    run.model = this.#map("handleLLMStart", () => map.modelOf(llm, extraParams, metadata), {});
    const payload = this.#map(
      "handleLLMStart",
      () => map.llmStartPayload(run.model, prompt, extraParams, metadata, content),
      { ...run.model },
    );
    tracker.emit(EventTypes.LlmStart, run, payload);
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
    const built = this.#state.safely(`${operation} (mapping)`, build);
    return built === undefined ? fallback : built;
  }
}

function elapsed(run: Run): number {
  return round(performance.now() - run.startedAt);
}

/** Milliseconds with microsecond precision: enough for latency, short on the wire. */
function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
