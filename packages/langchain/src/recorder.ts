import type { Chorus, ErrorInfo } from "@chorus/core";
import { EventTypes } from "@chorus/core";
import type { Safely } from "@chorus/core/adapter-kit";
import type {
  AgentAnswer,
  AgentStep,
  Callback,
  CallbackName,
  ChainEnd,
  ChainError,
  ChainStart,
  ChatModelStart,
  CustomEvent,
  LlmEnd,
  LlmError,
  LlmStart,
  LlmToken,
  ModelStart,
  RetrieverEnd,
  RetrieverError,
  RetrieverStart,
  ToolEnd,
  ToolError,
  ToolStart,
} from "./callbacks.js";
import { abortError, isControlFlow, isInterrupt } from "./errors.js";
import { abortSignalOf } from "./read.js";
import * as map from "./mapping.js";
import { finalAssistantText } from "./messages.js";
import { AdapterEventTypes } from "./payloads.js";
import { type Run, RunTracker } from "./run-tracker.js";

/** LangGraph tags its plumbing (`__start__`, channel writes) with this; even verbose mode skips it. */
const HIDDEN_TAG = "langsmith:hidden";

/** The `error` of an error event whose error could not be read. */
const UNREADABLE_ERROR = { message: "unknown error" };

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

/** One recorder per callback: the compiler checks that none is missing. */
type Recorders = {
  [K in CallbackName]: (callback: Extract<Callback, { callback: K }>) => void;
};

/**
 * What each LangChain callback means for Chorus: which run it opens or closes, which event it
 * emits, and what is left when a payload cannot be mapped. Each callback arrives read once, as a
 * named object (callbacks.ts); each recorder takes every field of it (`allRead` fails to compile
 * when one is added and not read). The caller guards every call (see `ChorusCallbackHandler`);
 * inside, each payload is built over its `base` (the fields the recorder already holds), so a
 * payload that cannot be built costs its content, not the event or the run's end.
 */
/**
 * How long a run LangChain left open (a model call whose signal aborted, a run still open when
 * its parent ended) may still get LangChain's own end or error before it is ended as cancelled:
 * a provider's request cut by the abort fails within milliseconds, LangGraph reports a node's
 * model call right after the graph; a second is not long for a run nobody waits on to read as open.
 */
export const ABORT_GRACE_MS = 1000;

/** The error of a run cancelled because its parent ended first (see `#orphans`). */
const ABANDONED: ErrorInfo = {
  message: "cancelled: the run around it ended first (a stream not read to the end)",
  type: "AbortError",
};

export class Recorder {
  readonly #tracker: RunTracker;
  readonly #safely: Safely;
  readonly #content: boolean;
  readonly #verbose: boolean;
  readonly #emitTokens: boolean;
  /**
   * Runs LangChain left open (a model call whose signal aborted, a run abandoned under a parent
   * that ended), waiting out {@link ABORT_GRACE_MS} before they end as cancelled, by run id.
   */
  readonly #pending = new Map<
    string,
    { timer: ReturnType<typeof setTimeout>; settle: () => void }
  >();
  /** The last custom event seen, to drop the same dispatch delivered twice. */
  #lastCustom: { runId: string; name: string; data: unknown } | undefined;

  readonly #recorders: Recorders = {
    handleChainStart: (c) => this.#chainStart(c),
    handleChainEnd: (c) => this.#chainEnd(c),
    handleChainError: (c) => this.#chainError(c),
    handleChatModelStart: (c) => this.#chatModelStart(c),
    handleLLMStart: (c) => this.#llmStart(c),
    handleLLMNewToken: (c) => this.#llmToken(c),
    handleLLMEnd: (c) => this.#llmEnd(c),
    handleLLMError: (c) => this.#llmError(c),
    handleToolStart: (c) => this.#toolStart(c),
    handleToolEnd: (c) => this.#toolEnd(c),
    handleToolError: (c) => this.#toolError(c),
    handleAgentAction: (c) => this.#agentAction(c),
    handleAgentEnd: (c) => this.#agentFinish(c),
    handleRetrieverStart: (c) => this.#retrieverStart(c),
    handleRetrieverEnd: (c) => this.#retrieverEnd(c),
    handleRetrieverError: (c) => this.#retrieverError(c),
    handleCustomEvent: (c) => this.#customEvent(c),
  };

  constructor(options: RecorderOptions) {
    this.#tracker = new RunTracker({
      chorus: options.chorus,
      channel: options.channel,
      agent: options.agent,
    });
    this.#safely = options.safely;
    this.#content = options.content;
    this.#verbose = options.verbose;
    this.#emitTokens = options.emitTokens;
  }

  get chorus(): Chorus {
    return this.#tracker.chorus;
  }

  record(callback: Callback): void {
    // The union narrows per key in `Recorders`, not through an index: the cast is that step.
    (this.#recorders[callback.callback] as (c: Callback) => void)(callback);
  }

  #chainStart(c: ChainStart): void {
    const { callback, runId, parentRunId, serialized, inputs, tags, metadata, runName, ...rest } =
      c;
    allRead(rest);
    const tracker = this.#tracker;
    if (tracker.has(runId)) return; // the same handler registered twice
    const parent = tracker.parentOf(parentRunId);
    const name = this.#name(callback, runName, serialized, "chain");
    const graphName = this.#safely(`${callback} (mapping)`, () =>
      map.graphNameOf(serialized, runName),
    );
    const kind = !parent
      ? "agent"
      : tracker.isSubAgent(parent, graphName)
        ? "agent"
        : this.#verbose && !tags?.includes(HIDDEN_TAG)
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
      tracker.emit(EventTypes.AgentHandoff, run, { from: parent.agentName, to: run.agentName });
    }
    const payload = this.#payload(callback, { name }, (base) =>
      map.runStartPayload(base.name, inputs, this.#content),
    );
    tracker.emit(
      kind === "agent" ? EventTypes.AgentStart : AdapterEventTypes.ChainStart,
      run,
      payload,
    );
  }

  #chainEnd(c: ChainEnd): void {
    const { callback, runId, outputs, ...rest } = c;
    allRead(rest);
    const tracker = this.#tracker;
    const run = this.#end(runId);
    if (!run || run.kind === "hidden") return;
    const base = { name: run.name, latencyMs: elapsed(run) };
    if (run.kind === "agent" && this.#content && run.llmCalls > 0 && !run.messageEmitted) {
      const text = this.#safely(`${callback} (mapping)`, () => finalAssistantText(outputs));
      if (text !== undefined)
        tracker.emit(EventTypes.AgentMessage, run, { role: "assistant", text });
    }
    const payload = this.#payload(callback, base, ({ name, latencyMs }) =>
      map.runEndPayload(name, outputs, latencyMs, this.#content),
    );
    if (run.kind !== "agent") {
      tracker.emit(AdapterEventTypes.ChainEnd, run, payload);
      return;
    }
    // A paused graph's root ends normally (its output carries `__interrupt__`); the node that
    // called interrupt() threw, which marked the tree.
    tracker.emit(
      EventTypes.AgentEnd,
      run,
      run === run.root && run.interrupted ? { ...payload, interrupted: true } : payload,
    );
  }

  #chainError(c: ChainError): void {
    const { callback, runId, error, ...rest } = c;
    allRead(rest);
    const run = this.#end(runId);
    if (run && isInterrupt(error)) run.root.interrupted = true;
    if (!run || run.kind === "hidden") return;
    const base = { name: run.name, latencyMs: elapsed(run) };
    const isAgent = run.kind === "agent";
    if (isControlFlow(error)) {
      const type = isAgent ? EventTypes.AgentEnd : AdapterEventTypes.ChainEnd;
      this.#tracker.emit(type, run, { ...base, interrupted: true });
      return;
    }
    const type = isAgent ? EventTypes.AgentError : AdapterEventTypes.ChainError;
    const payload = this.#payload(callback, withUnreadableError(base), ({ name, latencyMs }) =>
      map.runErrorPayload(name, error, latencyMs),
    );
    this.#tracker.emit(type, run, payload);
  }

  #chatModelStart(c: ChatModelStart): void {
    const { callback, messages, ...start } = c;
    this.#openLlm(callback, start, { messages: messages[0] });
  }

  #llmStart(c: LlmStart): void {
    const { callback, prompts, ...start } = c;
    this.#openLlm(callback, start, { prompts });
  }

  #openLlm(
    callback: CallbackName,
    start: ModelStart,
    prompt: { messages?: unknown; prompts?: unknown },
  ): void {
    const { runId, parentRunId, serialized, extraParams, metadata, runName, ...rest } = start;
    allRead(rest);
    const tracker = this.#tracker;
    if (tracker.has(runId)) return;
    const parent = tracker.parentOf(parentRunId);
    const name = this.#name(callback, runName, serialized, "llm");
    const run = tracker.open({
      kind: "llm",
      runId,
      parentRunId,
      parent,
      name,
      lcMetadata: metadata,
    });
    run.owner.llmCalls++;
    run.model =
      this.#safely(`${callback} (mapping)`, () => map.modelOf(serialized, extraParams, metadata)) ??
      {};
    const payload = this.#payload(callback, { ...run.model }, (model) =>
      map.llmStartPayload(model, prompt, extraParams, metadata, this.#content),
    );
    tracker.emit(EventTypes.LlmStart, run, payload);
    run.unwatch = this.#watchAbort(extraParams, run);
  }

  /**
   * A streamed model call whose signal aborts gets no callback from LangChain: the stream's
   * reader is rejected at once and the model's generator is never resumed, so neither
   * `handleLLMEnd` nor `handleLLMError` comes and the call would read as running for ever. The
   * call's own `signal` (in its call options) tells: a call still open {@link ABORT_GRACE_MS}
   * after its signal aborted ends as `llm.error` with the abort's reason (`AbortError`,
   * `TimeoutError`). LangChain's own end or error, when it comes within that time (a provider
   * whose request the abort cut, a model that finished anyway), is what is reported.
   */
  #watchAbort(extraParams: unknown, run: Run): (() => void) | undefined {
    const signal = abortSignalOf(extraParams);
    if (signal === undefined || signal.aborted) return undefined;
    const onAbort = () => {
      const abortedAt = performance.now();
      this.#later(run, () => this.#cut(run, abortError(signal.reason), abortedAt));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    return () => signal.removeEventListener("abort", onAbort);
  }

  /**
   * The runs still open under a run that just ended: LangChain left them so. A parent ends only
   * once it is done with its children (it awaits them, or drives and then closes their
   * generators), so a child still open then was abandoned: a stream read only in part (`break`
   * out of `model.stream()` inside a lambda, a graph node or a tool) gets no callback at all,
   * its generator is closed without one. The parent's end is the first moment we can know, and
   * a sound one; watching the stream's reader instead would mean wrapping what the user's code
   * reads, which a callback handler cannot reach and must not change. They end as cancelled
   * ({@link ABANDONED}: an `AbortError`, as the other adapters report a stream not read to the
   * end) after {@link ABORT_GRACE_MS}, so an end LangChain raises after the parent's (LangGraph
   * reports a node's model call after the graph's error) is the one reported. A top-level
   * stream read in part, with no signal, has no parent: LangChain tells nothing (see README).
   */
  #orphans(run: Run): void {
    const children = run.children;
    if (children === undefined || children.size === 0) return;
    run.children = undefined;
    const endedAt = performance.now();
    for (const child of children) this.#later(child, () => this.#cut(child, ABANDONED, endedAt));
  }

  /** End `run` as cancelled {@link ABORT_GRACE_MS} from now, unless it ends before (first one wins). */
  #later(run: Run, end: () => void): void {
    if (this.#pending.has(run.runId) || !this.#tracker.isOpen(run)) return;
    const settle = () => this.#safely("cancel", end);
    const timer = setTimeout(settle, ABORT_GRACE_MS);
    timer.unref?.(); // never what keeps a process alive; `flush()` settles it instead
    this.#pending.set(run.runId, { timer, settle });
  }

  /**
   * End now every run waiting out its grace (the handler's `flush()` and `close()`: whoever
   * flushes is done with the run, and a serverless function would be frozen before the timer).
   */
  settle(): void {
    for (const { timer, settle } of [...this.#pending.values()]) {
      clearTimeout(timer);
      settle();
    }
  }

  /** Take a run that ends: it stops waiting to be cancelled, and what it left open will be. */
  #end(runId: string): Run | undefined {
    const run = this.#tracker.take(runId);
    if (run === undefined) return undefined;
    run.unwatch?.();
    if (this.#pending.size > 0) this.#unpend(run.runId);
    this.#orphans(run);
    return run;
  }

  #unpend(runId: string): void {
    const pending = this.#pending.get(runId);
    if (pending === undefined) return;
    clearTimeout(pending.timer);
    this.#pending.delete(runId);
  }

  /**
   * End a run LangChain left open as cancelled with `error`, its own open children first (each
   * end before its parent's), timed to `at` (when the abort or the parent's end happened).
   */
  #cut(run: Run, error: ErrorInfo, at: number): void {
    const tracker = this.#tracker;
    if (!tracker.isOpen(run)) return;
    const children = run.children;
    run.children = undefined;
    if (children !== undefined) for (const child of children) this.#cut(child, error, at);
    tracker.take(run.runId);
    run.unwatch?.();
    this.#unpend(run.runId);
    const latencyMs = round(Math.max(0, at - run.startedAt));
    switch (run.kind) {
      case "llm": {
        const payload: map.Payload = { ...run.model, error, latencyMs };
        if (run.firstTokenAt !== undefined && run.firstTokenAt <= at)
          payload.timeToFirstTokenMs = round(run.firstTokenAt - run.startedAt);
        tracker.emit(EventTypes.LlmError, run, payload);
        return;
      }
      case "tool":
        tracker.emit(EventTypes.ToolError, run, { ...toolBase(run), error, latencyMs });
        return;
      case "agent":
        tracker.emit(EventTypes.AgentError, run, { name: run.name, error, latencyMs });
        return;
      case "chain":
        tracker.emit(AdapterEventTypes.ChainError, run, { name: run.name, error, latencyMs });
        return;
      case "retriever":
        tracker.emit(AdapterEventTypes.RetrieverError, run, { name: run.name, error, latencyMs });
        return;
      case "hidden":
        return;
    }
  }

  #llmToken(c: LlmToken): void {
    const { callback: _, runId, token, fields, ...rest } = c;
    allRead(rest);
    const run = this.#tracker.get(runId);
    if (!run) return;
    const chunk = fields?.chunk;
    if (chunk !== undefined) {
      if (chunk === run.lastSeen) return; // the same chunk delivered twice
      run.lastSeen = chunk;
    }
    run.firstTokenAt ??= performance.now();
    const index = run.tokens++;
    if (this.#emitTokens && this.#content) {
      this.#tracker.emit(EventTypes.LlmToken, run, { token, index });
    }
  }

  #llmEnd(c: LlmEnd): void {
    const { callback, runId, output, ...rest } = c;
    allRead(rest);
    const run = this.#end(runId);
    if (!run) return;
    const timing = {
      latencyMs: elapsed(run),
      timeToFirstTokenMs:
        run.firstTokenAt === undefined ? undefined : round(run.firstTokenAt - run.startedAt),
    };
    const payload = this.#payload(callback, { ...run.model, ...timing }, () =>
      map.llmEndPayload(run.model, output, timing, this.#content),
    );
    this.#tracker.emit(EventTypes.LlmEnd, run, payload);
  }

  #llmError(c: LlmError): void {
    const { callback, runId, error, ...rest } = c;
    allRead(rest);
    const run = this.#end(runId);
    if (!run) return;
    const latencyMs = elapsed(run);
    const payload = this.#payload(callback, withUnreadableError({ ...run.model, latencyMs }), () =>
      map.llmErrorPayload(run.model, error, latencyMs),
    );
    this.#tracker.emit(EventTypes.LlmError, run, payload);
  }

  #toolStart(c: ToolStart): void {
    const {
      callback,
      runId,
      parentRunId,
      serialized,
      input,
      metadata,
      runName,
      toolCallId,
      ...rest
    } = c;
    allRead(rest);
    const tracker = this.#tracker;
    if (tracker.has(runId)) return;
    const parent = tracker.parentOf(parentRunId);
    // runName is the tool's own name; the serialized id only says "DynamicStructuredTool".
    const name = this.#name(callback, runName, serialized, "tool");
    const run = tracker.open({
      kind: "tool",
      runId,
      parentRunId,
      parent,
      name,
      lcMetadata: metadata,
    });
    run.callId = typeof toolCallId === "string" ? toolCallId : undefined;
    const payload = this.#payload(callback, toolBase(run), () =>
      map.toolStartPayload(name, run.callId, input, this.#content),
    );
    tracker.emit(EventTypes.ToolStart, run, payload);
  }

  #toolEnd(c: ToolEnd): void {
    const { callback, runId, output, ...rest } = c;
    allRead(rest);
    const run = this.#end(runId);
    if (!run) return;
    const latencyMs = elapsed(run);
    const { failed, payload } = this.#safely(`${callback} (mapping)`, () =>
      map.toolEndEvent(run.name, run.callId, output, latencyMs, this.#content),
    ) ?? { failed: false, payload: { ...toolBase(run), latencyMs } };
    this.#tracker.emit(failed ? EventTypes.ToolError : EventTypes.ToolEnd, run, payload);
  }

  #toolError(c: ToolError): void {
    const { callback, runId, error, ...rest } = c;
    allRead(rest);
    const run = this.#end(runId);
    if (!run) return;
    const latencyMs = elapsed(run);
    if (isControlFlow(error)) {
      // interrupt() inside a tool: the call is paused for a human, not failed.
      const extra = run.callId === undefined ? {} : { callId: run.callId };
      const payload = { name: run.name, ...extra, interrupted: true, latencyMs };
      this.#tracker.emit(EventTypes.ToolEnd, run, payload);
      return;
    }
    const base = withUnreadableError({ ...toolBase(run), latencyMs });
    const payload = this.#payload(callback, base, () =>
      map.toolErrorPayload(run.name, run.callId, error, latencyMs),
    );
    this.#tracker.emit(EventTypes.ToolError, run, payload);
  }

  #agentAction(c: AgentStep): void {
    const { callback, runId, action, ...rest } = c;
    allRead(rest);
    const run = this.#tracker.get(runId);
    if (run && run.lastSeen === action) return;
    if (run) run.lastSeen = action;
    const payload = this.#payload(callback, {}, () =>
      map.agentActionPayload(action, this.#content),
    );
    this.#tracker.emit(AdapterEventTypes.AgentAction, run, payload);
  }

  #agentFinish(c: AgentAnswer): void {
    const { callback, runId, finish, ...rest } = c;
    allRead(rest);
    if (!this.#content) return;
    const run = this.#tracker.get(runId);
    if (run && run.lastSeen === finish) return;
    if (run) run.lastSeen = finish;
    const text = this.#safely(`${callback} (mapping)`, () => map.agentFinishText(finish));
    if (text === undefined) return;
    if (run) run.root.messageEmitted = true;
    this.#tracker.emit(EventTypes.AgentMessage, run?.root, { role: "assistant", text });
  }

  #retrieverStart(c: RetrieverStart): void {
    const { callback, runId, parentRunId, serialized, query, metadata, runName, ...rest } = c;
    allRead(rest);
    const tracker = this.#tracker;
    if (tracker.has(runId)) return;
    const parent = tracker.parentOf(parentRunId);
    const name = this.#name(callback, runName, serialized, "retriever");
    const run = tracker.open({
      kind: "retriever",
      runId,
      parentRunId,
      parent,
      name,
      lcMetadata: metadata,
    });
    const payload = this.#payload(callback, { name }, () =>
      map.retrieverStartPayload(name, query, this.#content),
    );
    tracker.emit(AdapterEventTypes.RetrieverStart, run, payload);
  }

  #retrieverEnd(c: RetrieverEnd): void {
    const { callback, runId, documents, ...rest } = c;
    allRead(rest);
    const run = this.#end(runId);
    if (!run) return;
    const base = { name: run.name, latencyMs: elapsed(run) };
    const payload = this.#payload(callback, base, ({ name, latencyMs }) =>
      map.retrieverEndPayload(name, documents, latencyMs, this.#content),
    );
    this.#tracker.emit(AdapterEventTypes.RetrieverEnd, run, payload);
  }

  #retrieverError(c: RetrieverError): void {
    const { callback, runId, error, ...rest } = c;
    allRead(rest);
    const run = this.#end(runId);
    if (!run) return;
    const base = withUnreadableError({ name: run.name, latencyMs: elapsed(run) });
    const payload = this.#payload(callback, base, ({ name, latencyMs }) =>
      map.runErrorPayload(name, error, latencyMs),
    );
    this.#tracker.emit(AdapterEventTypes.RetrieverError, run, payload);
  }

  #customEvent(c: CustomEvent): void {
    const { callback, runId, name, data, ...rest } = c;
    allRead(rest);
    const last = this.#lastCustom;
    if (last && last.runId === runId && last.name === name && last.data === data) return;
    this.#lastCustom = { runId, name, data };
    const { type, payload } = this.#safely(`${callback} (mapping)`, () =>
      map.customEvent(name, data),
    ) ?? { type: undefined, payload: { name: String(name) } };
    this.#tracker.emit(type ?? EventTypes.Custom, this.#tracker.get(runId), payload);
  }

  /** A run's display name: LangChain's run name, else the serialized component's. */
  #name(
    callback: CallbackName,
    runName: string | undefined,
    serialized: unknown,
    fallback: string,
  ): string {
    if (typeof runName === "string" && runName.length > 0) return runName;
    return this.#safely(`${callback} (mapping)`, () => map.serializedName(serialized)) ?? fallback;
  }

  /**
   * The payload `build` makes from `base` (the fields the recorder holds: names, ids, timings),
   * or `base` itself when the framework's objects could not be read: one bad field costs the
   * content, not the event (nor the run's end).
   */
  #payload<B extends map.Payload>(
    callback: CallbackName,
    base: B,
    build: (base: B) => map.Payload,
  ): map.Payload {
    return this.#safely(`${callback} (mapping)`, () => build(base)) ?? base;
  }
}

/**
 * Compiles only when `rest` is empty: a recorder destructures every field of its callback and
 * passes what is left here, so a field added to a callback and not read is a type error.
 */
function allRead(_rest: Record<string, never>): void {}

/** The base of an error event: its `error` stands until the real one is read. */
function withUnreadableError<B extends map.Payload>(base: B): B & { error: { message: string } } {
  return { ...base, error: UNREADABLE_ERROR };
}

function toolBase(run: Run): map.Payload {
  return run.callId === undefined ? { name: run.name } : { name: run.name, callId: run.callId };
}

function elapsed(run: Run): number {
  return round(performance.now() - run.startedAt);
}

/** Milliseconds with microsecond precision: enough for latency, short on the wire. */
function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
