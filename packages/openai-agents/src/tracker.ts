import { type Chorus, currentTrace } from "@chorus/core";
import type { Span, SpanData, Trace } from "@openai/agents";
import { toSpanId, toTraceId } from "./ids.js";
import * as map from "./mapping.js";
import { fromGeneration, fromResponse, type ModelCall } from "./model-call.js";
import type { Safely } from "./safely.js";
import {
  BoundedMap,
  MAX_OPEN_SPANS,
  MAX_OPEN_TRACES,
  type SpanRecord,
  type TraceRecord,
} from "./span-map.js";

type Bag = Record<string, unknown>;
type AnySpan = Span<SpanData>;

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
/** Span trees are a few levels deep; the walk stops here if a parent chain is ever corrupted. */
const MAX_ANCESTOR_WALK = 64;

/**
 * Turns the SDK's span lifecycle (and, where spans say too little, its run hooks) into Chorus
 * events: one Chorus trace per SDK trace, one Chorus span per SDK span that means something to a
 * reader, start and end sharing a span id, children pointing at the nearest ancestor that
 * emitted. Methods may throw; the processor and the hook bridge guard every call.
 */
export class SpanTracker {
  readonly #o: TrackerOptions;
  readonly #spans = new BoundedMap<string, SpanRecord>(MAX_OPEN_SPANS);
  readonly #traces = new BoundedMap<string, TraceRecord>(MAX_OPEN_TRACES);

  constructor(options: TrackerOptions) {
    this.#o = options;
  }

  /** Open spans and traces, and how many were evicted (a non-zero count means leaked runs). */
  get sizes(): { spans: number; traces: number; evicted: number } {
    return {
      spans: this.#spans.size,
      traces: this.#traces.size,
      evicted: this.#spans.evicted + this.#traces.evicted,
    };
  }

  traceStart(trace: Trace): void {
    this.#traces.set(trace.traceId, this.#join(trace.traceId));
  }

  traceEnd(trace: Trace): void {
    this.#traces.delete(trace.traceId);
  }

  spanStart(span: AnySpan): void {
    const kind = span.spanData.type;
    const parent = span.parentId ? this.#spans.get(span.parentId) : undefined;
    // A child settles what its parent was waiting for: a turn learns whether the model traces
    // itself; a tool or model call whose start was deferred goes out before its child's events.
    if (parent) this.#settle(parent, kind);
    const record = this.#record(span, parent);
    this.#spans.set(span.spanId, record);

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
      if (kind === "function" && this.#agentRecord(record)?.hooked) return;
      queueMicrotask(() =>
        this.#o.safely.guard("deferredStart", () => this.#start(record), undefined),
      );
    }
  }

  spanEnd(span: AnySpan): void {
    const kind = span.spanData.type;
    const data = span.spanData as unknown as Bag;
    const record = this.#spans.get(span.spanId) ?? this.#adopt(span);
    this.#spans.delete(span.spanId);
    if (record.trace.openModel === record) record.trace.openModel = undefined;
    const error = span.error;
    const endedAt = span.endedAt ?? new Date().toISOString();
    const latencyMs = elapsed(record.startedAt, endedAt);

    if (RUN_KINDS.has(kind)) {
      this.#emit(record, map.runEnd(runName(record), data, error, latencyMs), endedAt);
    } else if (kind === "turn") {
      if (record.emits === undefined) this.#decideTurn(record, false);
      if (!record.emits) return;
      // The model had answered when the turn's first tool or handoff began.
      const timing = {
        latencyMs: elapsed(record.startedAt, record.firstChildAt ?? endedAt),
        timeToFirstTokenMs: ttft(record),
      };
      this.#emit(record, map.turnEnd(record, data, error, timing), endedAt);
    } else if (MODEL_KINDS.has(kind)) {
      this.#start(record);
      const call = readModelCall(record);
      this.#offerCallIds(record, call);
      this.#emit(
        record,
        map.llmEnd(call, error, { latencyMs, timeToFirstTokenMs: ttft(record) }, this.#o),
        endedAt,
      );
      if (!error && call.text && call.toolCalls.length === 0)
        this.#message(this.#agentRecord(record), call.text, endedAt);
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
    const agent = this.#agentRecord(current ? this.#spans.get(current.spanId) : undefined);
    if (!agent) return;
    agent.hooked = true;
    if (typeof model === "string" && model !== "") agent.model = model;
  }

  /** `agent_tool_start` fires inside the tool's function span, with the call id and arguments. */
  hookToolStart(current: AnySpan | null, offeredName: unknown, toolCall: Bag | undefined): void {
    const record = current ? this.#spans.get(current.spanId) : undefined;
    const callId = callIdOf(toolCall);
    if (record?.kind === "function") {
      record.callId ??= callId;
      record.args ??= toolCall?.arguments;
      this.#start(record);
      return;
    }
    // Hosted, shell and computer tools run without a function span: the hook is all there is.
    if (!current || callId === undefined) return;
    const tool = this.#hookToolRecord(
      current,
      str(offeredName) ?? str(toolCall?.name) ?? "tool",
      callId,
    );
    this.#spans.set(tool.sdkSpanId, tool);
    this.#emit(
      tool,
      map.toolStart(toolName(tool), callId, toolCall?.arguments, this.#o),
      tool.startedAt,
    );
  }

  hookToolEnd(current: AnySpan | null, result: unknown, toolCall: Bag | undefined): void {
    const record = current ? this.#spans.get(current.spanId) : undefined;
    if (record?.kind === "function") {
      record.result ??= result;
      return;
    }
    const callId = callIdOf(toolCall);
    if (!current || callId === undefined) return;
    const key = hookToolKey(current.traceId, callId);
    const tool = this.#spans.get(key);
    if (!tool) return;
    this.#spans.delete(key);
    const endedAt = new Date().toISOString();
    this.#emit(
      tool,
      map.toolEnd(toolName(tool), callId, result, null, elapsed(tool.startedAt, endedAt), this.#o),
      endedAt,
    );
  }

  /** `agent_end` fires inside the agent span with the final output: the `agent.message`. */
  hookAgentEnd(current: AnySpan | null, output: unknown): void {
    if (output === undefined || output === null) return;
    const agent = this.#agentRecord(current ? this.#spans.get(current.spanId) : undefined);
    this.#message(agent, typeof output === "string" ? output : JSON.stringify(output), undefined);
  }

  /** A streamed text delta (see `observeStream`): time to first token, and `llm.token` when opted in. */
  streamToken(sdkTraceId: string, token: string): void {
    const target = this.#traces.get(sdkTraceId)?.openModel;
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
    this.#spans.clear();
    this.#traces.clear();
  }

  // ---- internals ------------------------------------------------------------------------------

  /** Join the Chorus trace the run was started in (intent handler, `withTrace`), else map the SDK id. */
  #join(sdkTraceId: string): TraceRecord {
    const context = currentTrace();
    if (!context) return { traceId: toTraceId(sdkTraceId) };
    return {
      traceId: context.traceId,
      parentSpanId: context.spanId,
      intentId: context.intentId,
      agent: context.agent,
    };
  }

  #trace(sdkTraceId: string): TraceRecord {
    let trace = this.#traces.get(sdkTraceId);
    if (!trace) {
      // Instrumented mid-run, or evicted: join at first sight so the spans that follow agree.
      trace = this.#join(sdkTraceId);
      this.#traces.set(sdkTraceId, trace);
    }
    return trace;
  }

  #record(span: AnySpan, parent: SpanRecord | undefined): SpanRecord {
    const trace = this.#trace(span.traceId);
    const kind = span.spanData.type;
    const data = span.spanData as unknown as Bag;
    const isAgent = kind === "agent";
    return {
      sdkSpanId: span.spanId,
      sdkTraceId: span.traceId,
      sdkParentId: span.parentId ?? undefined,
      kind,
      trace,
      spanId: toSpanId(span.spanId),
      parentSpanId: this.#emittingAncestor(parent) ?? trace.parentSpanId,
      agentName: isAgent ? str(data.name) : parent?.agentName,
      agentSdkSpanId: isAgent ? span.spanId : parent?.agentSdkSpanId,
      startedAt: span.startedAt ?? new Date().toISOString(),
      data,
      emits: kind === "turn" ? undefined : true,
      started: !(MODEL_KINDS.has(kind) || kind === "function"),
    };
  }

  /** A span whose start we never saw (instrumented mid-run, or evicted): it gets its end events only. */
  #adopt(span: AnySpan): SpanRecord {
    const record = this.#record(span, span.parentId ? this.#spans.get(span.parentId) : undefined);
    if (record.kind === "turn") record.emits = false;
    return record;
  }

  #emittingAncestor(record: SpanRecord | undefined): string | undefined {
    let current = record;
    for (let depth = 0; current && depth < MAX_ANCESTOR_WALK; depth++) {
      if (current.emits === true) return current.spanId;
      current = current.sdkParentId ? this.#spans.get(current.sdkParentId) : undefined;
    }
    return undefined;
  }

  #agentRecord(record: SpanRecord | undefined): SpanRecord | undefined {
    if (!record) return undefined;
    if (record.kind === "agent") return record;
    return record.agentSdkSpanId ? this.#spans.get(record.agentSdkSpanId) : undefined;
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
    turn.model ??= this.#agentRecord(turn)?.model;
    this.#emit(
      turn,
      map.llmStart({ model: turn.model }, agentTools(this.#agentRecord(turn)), this.#o),
      turn.startedAt,
    );
  }

  /** Emit a deferred start (model call or tool) exactly once, reading what the SDK filled in. */
  #start(record: SpanRecord): void {
    if (record.started) return;
    record.started = true;
    if (MODEL_KINDS.has(record.kind)) {
      const call = readModelCall(record);
      this.#emit(
        record,
        map.llmStart(call, agentTools(this.#agentRecord(record)), this.#o),
        record.startedAt,
      );
      return;
    }
    const name = toolName(record);
    const input = record.data.input;
    record.args ??= input === "" ? undefined : input;
    const turn = record.sdkParentId ? this.#spans.get(record.sdkParentId) : undefined;
    record.callId ??= claimCallId(turn, name);
    if (turn?.kind === "turn" && turn.emits) {
      turn.toolCalls ??= [];
      turn.toolCalls.push({ name, callId: record.callId });
    }
    this.#emit(record, map.toolStart(name, record.callId, record.args, this.#o), record.startedAt);
  }

  /** Call ids from the model's answer, for the tools of the same turn to claim by name, in order. */
  #offerCallIds(model: SpanRecord, call: ModelCall): void {
    const turn = model.sdkParentId ? this.#spans.get(model.sdkParentId) : undefined;
    if (turn?.kind === "turn")
      turn.unclaimed = call.toolCalls.filter((c) => c.callId !== undefined);
  }

  #message(agent: SpanRecord | undefined, text: string, occurredAt: string | undefined): void {
    if (!agent || agent.messageEmitted || !this.#o.content) return;
    agent.messageEmitted = true;
    this.#emit(agent, map.message(text), occurredAt);
  }

  #hookToolRecord(current: AnySpan, name: string, callId: string): SpanRecord {
    const parent = this.#spans.get(current.spanId);
    const trace = this.#trace(current.traceId);
    const key = hookToolKey(current.traceId, callId);
    return {
      sdkSpanId: key,
      sdkTraceId: current.traceId,
      sdkParentId: current.spanId,
      kind: "tool",
      trace,
      spanId: toSpanId(key),
      parentSpanId: this.#emittingAncestor(parent) ?? trace.parentSpanId,
      agentName: parent?.agentName,
      agentSdkSpanId: parent?.agentSdkSpanId,
      startedAt: new Date().toISOString(),
      data: { name },
      emits: true,
      started: true,
      callId,
    };
  }

  #emit(record: SpanRecord, mapped: map.Mapped, occurredAt: string | undefined): void {
    const { trace } = record;
    this.#o.chorus.emit({
      type: mapped.type,
      channel: this.#o.channel,
      agent: this.#o.agent ?? trace.agent ?? record.agentName,
      traceId: trace.traceId,
      spanId: record.spanId,
      parentSpanId: record.parentSpanId,
      intentId: trace.intentId,
      payload: mapped.payload,
      metadata: {
        framework: FRAMEWORK,
        spanType: record.kind,
        sdkTraceId: record.sdkTraceId,
        sdkSpanId: record.sdkSpanId,
      },
      occurredAt,
    });
  }
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

function runName(record: SpanRecord): string {
  return str(record.data.name) ?? record.agentName ?? record.kind;
}

function toolName(record: SpanRecord): string {
  return str(record.data.name) ?? "tool";
}

/** Tool names the agent offered the model (the SDK updates the list on the agent span). */
function agentTools(agent: SpanRecord | undefined): string[] | undefined {
  const tools = agent?.data.tools;
  return Array.isArray(tools) ? tools.filter((t): t is string => typeof t === "string") : undefined;
}

function callIdOf(toolCall: Bag | undefined): string | undefined {
  return str(toolCall?.callId) ?? str(toolCall?.call_id) ?? str(toolCall?.id);
}

function hookToolKey(sdkTraceId: string, callId: string): string {
  return `hook-tool:${sdkTraceId}:${callId}`;
}

function elapsed(from: string | undefined, to: string | undefined): number | undefined {
  if (!from || !to) return undefined;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

function ttft(record: SpanRecord): number | undefined {
  if (record.firstTokenAt === undefined) return undefined;
  const ms = record.firstTokenAt - Date.parse(record.startedAt);
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}
