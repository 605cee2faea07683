import { type Chorus, EventTypes, type TokenUsage } from "@chorus/core";
import type { Trace } from "@openai/agents";
import { elapsed } from "./elapsed.js";
import * as map from "./mapping.js";
import { fromGeneration, fromResponse, type ModelCall } from "./model-call.js";
import type { Safely } from "@chorus/core/adapter-kit";
import type { SpanErrorLike } from "./mapping.js";
import type { SpanRecord, TraceRecord } from "./span-map.js";
import { type AnySpan, hookToolKey, MAX_ANCESTOR_WALK, SpanStore, str } from "./span-store.js";
import { addUsage, withoutNested } from "./usage.js";

type Bag = Record<string, unknown>;

export interface TrackerOptions {
  chorus: Chorus;
  safely: Safely;
  /** Channel of every event (else the client's). */
  channel: string | undefined;
  /** Agent of every event (else the enclosing Chorus agent, else the SDK agent's name). */
  agent: string | undefined;
  /** `capture: "full"`: prompts, completions, tool arguments and results go into payloads. */
  content: boolean;
  emitTokens: boolean;
}

const FRAMEWORK = "openai-agents";
const MODEL_KINDS: ReadonlySet<string> = new Set(["generation", "response"]);
const RUN_KINDS: ReadonlySet<string> = new Set(["task", "agent"]);
/** Spans a cancelled run cuts short: its runs and model calls (a tool that returned did finish). */
const CUT_SHORT_KINDS: ReadonlySet<string> = new Set([...RUN_KINDS, ...MODEL_KINDS, "turn"]);

/**
 * Decides when each Chorus event goes out. It turns the SDK's span lifecycle (and, where spans
 * say too little, its run hooks) into events: start and end of a span share a span id, children
 * point at the nearest ancestor that emitted, and a model that does not trace itself is stood in
 * for by its turn. Methods may throw; the processor and the hook bridge guard every call.
 */
export class SpanTracker {
  readonly #o: TrackerOptions;
  readonly #store = new SpanStore();

  constructor(options: TrackerOptions) {
    this.#o = options;
  }

  /** Open spans and traces, and how many were evicted (a non-zero count means leaked runs). */
  get sizes(): { spans: number; traces: number; evicted: number } {
    return this.#store.sizes;
  }

  traceStart(trace: Trace): void {
    this.#store.startTrace(trace.traceId);
  }

  traceEnd(trace: Trace): void {
    const record = this.#store.endTrace(trace.traceId);
    // Only a run known to be cancelled (see `watchStream`): a trace can end before its spans in
    // other runs too (a `withTrace` callback that returns while its run goes on, a run paused
    // for approval that resumes the same agent span), and those spans do end later.
    if (record?.cancelled && cancellation(record) !== null) this.#sweep(record);
  }

  spanStart(span: AnySpan): void {
    const kind = span.spanData.type;
    const parent = this.#store.get(span.parentId);
    // A child settles what its parent was waiting for: a turn learns whether the model traces
    // itself; a tool or model call whose start was deferred goes out before its child's events.
    if (parent) this.#settle(parent, kind);
    const record = this.#store.create(span, parent);
    this.#store.add(record);

    if (RUN_KINDS.has(kind)) {
      this.#emit(record, map.runStart(runName(record)), record.startedAt);
    } else if (kind === "turn") {
      record.trace.openModel = record;
    } else if (MODEL_KINDS.has(kind) || kind === "function") {
      if (kind !== "function") record.trace.openModel = record;
      // The SDK fills in the model, its input and the tool arguments just after start() returns,
      // so the start goes out a microtask later. A tool of a hooked agent waits for
      // `agent_tool_start` instead, which brings the call id; its first child or its end flush
      // it if the hook never comes.
      if (kind === "function" && this.#store.agentOf(record)?.hooked) return;
      queueMicrotask(() => this.#o.safely("deferredStart", () => this.#start(record)));
    }
  }

  spanEnd(span: AnySpan): void {
    const kind = span.spanData.type;
    const data = span.spanData as unknown as Bag;
    const stored = this.#store.take(span.spanId);
    // Already ended when its cancelled run's trace ended: the SDK's own end comes too late.
    if (!stored && this.#store.wasSwept(span.spanId)) return;
    const record = stored ?? this.#store.adopt(span);
    if (record.trace.openModel === record) record.trace.openModel = undefined;
    const sdkEndedAt = span.endedAt;
    // A span the SDK has not ended is one a cancelled run's trace end is sweeping (see `#sweep`).
    const cutShort = CUT_SHORT_KINDS.has(kind) || !sdkEndedAt;
    const error = span.error
      ? cutShort
        ? aborted(span.error, record.trace)
        : span.error
      : cutShort
        ? cancellation(record.trace)
        : null;
    const endedAt = sdkEndedAt ?? new Date().toISOString();
    const latencyMs = elapsed(record.startedAt, endedAt);

    if (RUN_KINDS.has(kind)) {
      this.#emit(record, map.runEnd(runName(record), data, error, latencyMs), endedAt);
    } else if (kind === "turn") {
      if (record.emits === undefined) this.#decideTurn(record, false);
      if (!record.emits) return;
      // The model had answered when the turn's first tool or handoff began.
      const modelMs = elapsed(record.startedAt, record.firstChildAt ?? endedAt);
      const mapped = map.turnEnd(record, data, error, {
        latencyMs: modelMs,
        timeToFirstTokenMs: ttft(record),
      });
      const usage = mapped.payload.usage as TokenUsage | undefined;
      // The SDK adds the usage of a run nested in this turn (an agent used as a tool) to the
      // turn's own; the nested run's model calls already reported theirs.
      if (usage && record.nestedUsage)
        mapped.payload.usage = withoutNested(usage, record.nestedUsage);
      this.#emit(record, mapped, endedAt);
      this.#creditAncestors(record, mapped);
    } else if (MODEL_KINDS.has(kind)) {
      this.#start(record);
      const call = readModelCall(record);
      call.model ??= this.#store.agentOf(record)?.model;
      this.#offerCallIds(record, call);
      const mapped = map.llmEnd(
        call,
        error,
        { latencyMs, timeToFirstTokenMs: ttft(record) },
        this.#o,
      );
      this.#emit(record, mapped, endedAt);
      this.#creditAncestors(record, mapped);
      if (!error && call.text && call.toolCalls.length === 0)
        this.#message(this.#store.agentOf(record), call.text, endedAt);
    } else if (kind === "function") {
      this.#start(record);
      const output = data.output === "" || data.output === undefined ? record.result : data.output;
      this.#emit(
        record,
        map.toolEnd(toolName(record), record.callId, output, error, latencyMs, this.#o),
        endedAt,
      );
    } else if (kind === "handoff") {
      const from = str(data.from_agent) ?? record.agentName ?? "unknown";
      this.#emit(record, map.handoff(from, str(data.to_agent) ?? "unknown"), endedAt);
    } else {
      this.#emit(record, map.pointEvent(kind, data, error, this.#o), endedAt);
    }
  }

  // ---- hooks: what spans leave out ------------------------------------------------------------

  /** `agent_start` fires inside the agent's first turn: its tools will get `agent_tool_start`. */
  hookAgentStart(current: AnySpan | null, model: unknown): void {
    const agent = this.#store.agentOf(this.#store.get(current?.spanId));
    if (!agent) return;
    agent.hooked = true;
    agent.model = modelName(model) ?? agent.model;
  }

  /** `agent_tool_start` fires inside the tool's function span, with the call id and arguments. */
  hookToolStart(current: AnySpan | null, offeredName: unknown, toolCall: Bag | undefined): void {
    const record = this.#store.get(current?.spanId);
    const callId = callIdOf(toolCall);
    if (record?.kind === "function") {
      record.callId ??= callId;
      record.args ??= toolCall?.arguments;
      this.#start(record);
      return;
    }
    // Hosted, shell and computer tools run without a function span: the hook is all there is.
    if (!current || callId === undefined) return;
    const tool = this.#store.createHookTool(
      current,
      str(offeredName) ?? str(toolCall?.name) ?? "tool",
      callId,
    );
    this.#store.add(tool);
    this.#emit(
      tool,
      map.toolStart(toolName(tool), callId, toolCall?.arguments, this.#o),
      tool.startedAt,
    );
  }

  hookToolEnd(current: AnySpan | null, result: unknown, toolCall: Bag | undefined): void {
    const record = this.#store.get(current?.spanId);
    if (record?.kind === "function") {
      record.result ??= result;
      return;
    }
    const callId = callIdOf(toolCall);
    if (!current || callId === undefined) return;
    const key = hookToolKey(current.traceId, callId);
    const tool = this.#store.get(key);
    if (!tool) return;
    this.#store.delete(key);
    const endedAt = new Date().toISOString();
    const latencyMs = elapsed(tool.startedAt, endedAt);
    this.#emit(
      tool,
      map.toolEnd(toolName(tool), callId, result, null, latencyMs, this.#o),
      endedAt,
    );
  }

  /** `agent_end` fires inside the agent span with the final output: the `agent.message`. */
  hookAgentEnd(current: AnySpan | null, output: unknown): void {
    if (output === undefined || output === null) return;
    const agent = this.#store.agentOf(this.#store.get(current?.spanId));
    this.#message(agent, typeof output === "string" ? output : JSON.stringify(output), undefined);
  }

  /**
   * A streamed run read through `observeStream`: spans of its trace that end once the run was
   * cancelled (the reader stopped early, or the run's signal aborted) are reported as aborted.
   */
  watchStream(sdkTraceId: string, cancelled: () => boolean): void {
    const trace = this.#store.openTrace(sdkTraceId);
    if (trace) trace.cancelled = cancelled;
  }

  /** A streamed text delta (see `observeStream`): time to first token, and `llm.token` when opted in. */
  streamToken(sdkTraceId: string, token: string): void {
    const target = this.#store.openTrace(sdkTraceId)?.openModel;
    if (!target) return;
    if (target.kind === "turn") {
      if (target.firstChildAt !== undefined) return;
      this.#decideTurn(target, false);
    }
    if (!target.emits) return;
    this.#start(target);
    target.firstTokenAt ??= Date.now();
    const index = target.tokens ?? 0;
    target.tokens = index + 1;
    if (this.#o.emitTokens && this.#o.content)
      this.#emit(target, map.llmToken(token, index), undefined);
  }

  clear(): void {
    this.#store.clear();
  }

  // ---- internals ------------------------------------------------------------------------------

  /**
   * A cancelled run's trace ended with spans still open: the SDK never ends some of them (the
   * agent span of a run without task and turn spans; a tool seen through hooks whose end never
   * came). End each now, children first, as cut short by the cancellation.
   */
  #sweep(trace: TraceRecord): void {
    for (const record of this.#store.sweep(trace)) {
      // Not ended by the SDK: `spanEnd` reads it as cut short (no `endedAt`) and ends it now.
      if (record.sdkSpan) {
        this.spanEnd(record.sdkSpan);
        continue;
      }
      this.#store.delete(record.sdkSpanId);
      const endedAt = new Date().toISOString();
      this.#emit(
        record,
        map.toolEnd(
          toolName(record),
          record.callId,
          undefined,
          CANCELLED,
          elapsed(record.startedAt, endedAt),
          this.#o,
        ),
        endedAt,
      );
    }
  }

  #settle(parent: SpanRecord, childKind: string): void {
    if (parent.kind !== "turn") {
      this.#start(parent);
      return;
    }
    if (parent.emits !== undefined) return;
    if (MODEL_KINDS.has(childKind)) parent.emits = false;
    // Input guardrails run beside the model call and say nothing about who traces it.
    else if (childKind !== "guardrail") this.#decideTurn(parent, true);
  }

  /** No model span came: the turn stands in for the model call and its `llm.start` goes out now. */
  #decideTurn(turn: SpanRecord, childStarted: boolean): void {
    if (turn.emits !== undefined) return;
    turn.emits = true;
    if (childStarted) turn.firstChildAt = new Date().toISOString();
    const agent = this.#store.agentOf(turn);
    turn.model ??= agent?.model;
    this.#emit(
      turn,
      // A turn stands in for a model that does not trace itself: who serves it is unknown.
      map.llmStart({ model: turn.model }, agentTools(agent), this.#o),
      turn.startedAt,
    );
  }

  /** Emit a deferred start (model call or tool) exactly once, reading what the SDK filled in. */
  #start(record: SpanRecord): void {
    if (record.started) return;
    record.started = true;
    if (MODEL_KINDS.has(record.kind)) {
      const agent = this.#store.agentOf(record);
      const call = readModelCall(record);
      // A response span learns its model only from the answer; the agent's model stands in.
      call.model ??= agent?.model;
      this.#emit(record, map.llmStart(call, agentTools(agent), this.#o), record.startedAt);
      return;
    }
    const name = toolName(record);
    const input = record.data.input;
    record.args ??= input === "" ? undefined : input;
    const turn = this.#store.get(record.sdkParentId);
    record.callId ??= claimCallId(turn, name);
    if (turn?.kind === "turn" && turn.emits) {
      turn.toolCalls ??= [];
      turn.toolCalls.push({ name, callId: record.callId });
    }
    this.#emit(record, map.toolStart(name, record.callId, record.args, this.#o), record.startedAt);
  }

  /**
   * A model call's reported usage, noted on every turn it is nested in: a turn standing in for
   * its model call reports only what that call used (see the turn's end).
   */
  #creditAncestors(record: SpanRecord, mapped: map.Mapped): void {
    const usage = mapped.payload.usage as TokenUsage | undefined;
    if (mapped.type !== EventTypes.LlmEnd || !usage) return;
    let current = this.#store.get(record.sdkParentId);
    for (let depth = 0; current && depth < MAX_ANCESTOR_WALK; depth++) {
      if (current.kind === "turn") {
        current.nestedUsage ??= {};
        addUsage(current.nestedUsage, usage);
      }
      current = this.#store.get(current.sdkParentId);
    }
  }

  /** Call ids from the model's answer, for the tools of the same turn to claim by name, in order. */
  #offerCallIds(model: SpanRecord, call: ModelCall): void {
    const turn = this.#store.get(model.sdkParentId);
    if (turn?.kind === "turn")
      turn.unclaimed = call.toolCalls.filter((c) => c.callId !== undefined);
  }

  #message(agent: SpanRecord | undefined, text: string, occurredAt: string | undefined): void {
    if (!agent || agent.messageEmitted || !this.#o.content) return;
    agent.messageEmitted = true;
    this.#emit(agent, map.message(text), occurredAt);
  }

  #emit(record: SpanRecord, mapped: map.Mapped, occurredAt: string | undefined): void {
    const { trace } = record;
    record.metadata ??= metadataOf(record);
    const metadata = record.metadata;
    this.#o.chorus.emit({
      type: mapped.type,
      channel: this.#o.channel,
      agent: this.#o.agent ?? trace.agent ?? record.agentName,
      traceId: trace.traceId,
      spanId: record.spanId,
      parentSpanId: record.parentSpanId,
      intentId: trace.intentId,
      payload: mapped.payload,
      metadata,
      occurredAt,
    });
  }
}

/**
 * A span's metadata, made once for all its events. The SDK trace id goes in only when the
 * event's `traceId` does not already say it: the SDK's `trace_<32 hex>` keeps its hex, so it is
 * there for a run joined to a Chorus trace or an SDK id of another form.
 */
function metadataOf(record: SpanRecord): Record<string, unknown> {
  const metadata: Record<string, unknown> = { framework: FRAMEWORK, spanType: record.kind };
  if (record.sdkTraceId !== `trace_${record.trace.traceId}`)
    metadata.sdkTraceId = record.sdkTraceId;
  metadata.sdkSpanId = record.sdkSpanId;
  return metadata;
}

function claimCallId(turn: SpanRecord | undefined, name: string): string | undefined {
  const queue = turn?.unclaimed;
  if (!queue) return undefined;
  const index = queue.findIndex((c) => c.name === name);
  return index < 0 ? undefined : queue.splice(index, 1)[0]?.callId;
}

function readModelCall(record: SpanRecord): ModelCall {
  return record.kind === "generation" ? fromGeneration(record.data) : fromResponse(record.data);
}

/**
 * The agent's model: a name, or one of the SDK's model objects, which keep the name they were
 * made for in `_model` (`OpenAIResponsesModel`, `OpenAIChatCompletionsModel`).
 */
function modelName(model: unknown): string | undefined {
  if (typeof model === "string") return str(model);
  if (typeof model === "object" && model !== null) return str((model as Bag)._model);
  return undefined;
}

function runName(record: SpanRecord): string {
  return str(record.data.name) ?? record.agentName ?? record.kind;
}

function toolName(record: SpanRecord): string {
  return str(record.data.name) ?? "tool";
}

/** Tool names the agent offered the model (the SDK keeps the list current on the agent span). */
function agentTools(agent: SpanRecord | undefined): string[] | undefined {
  const tools = agent?.data.tools;
  return Array.isArray(tools) ? tools.filter((t): t is string => typeof t === "string") : undefined;
}

function callIdOf(toolCall: Bag | undefined): string | undefined {
  return str(toolCall?.callId) ?? str(toolCall?.call_id) ?? str(toolCall?.id);
}

function ttft(record: SpanRecord): number | undefined {
  if (record.firstTokenAt === undefined) return undefined;
  const ms = record.firstTokenAt - Date.parse(record.startedAt);
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

/**
 * What the SDK does not record: a run cancelled by its consumer ends its open spans without an
 * error, so a model call cut off mid-answer read as finished ("stop"). Those spans get the
 * error an aborted call gets from the other adapters (`AbortError`).
 */
const CANCELLED: SpanErrorLike = {
  message: "the run was cancelled before this span finished",
  data: { type: "AbortError" },
};

/**
 * The error a span of a cancelled run recorded itself: a model that traces itself and whose
 * request the cancellation aborted notes only a message ("Error streaming response"). It is
 * typed as the abort it is, unless it says otherwise (a type, or an HTTP status).
 */
function aborted(error: SpanErrorLike, trace: TraceRecord): SpanErrorLike {
  try {
    if (typeof error.data?.type === "string" || /^[1-5]\d\d /.test(error.message)) return error;
    if (cancellation(trace) === null) return error;
    return { message: error.message, data: { ...error.data, type: CANCELLED.data?.type } };
  } catch {
    return error; // hostile error data: the mapping copes with it as it is
  }
}

function cancellation(trace: TraceRecord): SpanErrorLike | null {
  try {
    return trace.cancelled?.() === true ? CANCELLED : null;
  } catch {
    return null; // a result whose getter throws is not known to be cancelled
  }
}
