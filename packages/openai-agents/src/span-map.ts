import type { TokenUsage } from "@chorus/core";
import type { Span, SpanData } from "@openai/agents";

/**
 * Spans open at once across all concurrent runs. A run keeps a handful open (task, agent, turn,
 * a model call, its tools), so this covers over a thousand concurrent runs at a few hundred
 * bytes each; past it, the oldest (most likely leaked) record goes.
 */
export const MAX_OPEN_SPANS = 10_000;
/** Traces open at once: one per concurrent run; a trace that never ends is evicted first. */
export const MAX_OPEN_TRACES = 2_000;
/**
 * Ids of spans ended for a cancelled run when its trace ended (see `SpanStore.sweep`), kept so
 * the SDK's own end, should it still come (a resumed run), is not reported a second time.
 */
export const MAX_SWEPT_SPANS = 1_000;

/** How an SDK trace maps onto Chorus: its own id, or the Chorus trace the run was started in. */
export interface TraceRecord {
  traceId: string;
  /** The model call streaming right now, if any: where `observeStream` tokens belong. */
  openModel?: SpanRecord;
  /** The Chorus span the run was started in (`withTrace`, an intent handler): parent of its root spans. */
  parentSpanId?: string;
  intentId?: string;
  /** The Chorus agent of the enclosing context; wins over SDK agent names on events. */
  agent?: string;
  /**
   * Whether the run's consumer cancelled it (a streamed run read through `observeStream`): the
   * SDK ends a cancelled run's spans as if they had finished.
   */
  cancelled?: () => boolean;
}

/** A tool call the model asked for. */
export interface ToolCallRef {
  name: string;
  callId?: string;
}

/** What we remember about one open SDK span. */
export interface SpanRecord {
  readonly sdkSpanId: string;
  readonly sdkTraceId: string;
  readonly sdkParentId: string | undefined;
  /** The SDK's span (none for a tool seen through hooks only): whether the SDK has ended it. */
  readonly sdkSpan: Span<SpanData> | undefined;
  /** The SDK span type: `task`, `agent`, `turn`, `generation`, `response`, `function`, … */
  readonly kind: string;
  readonly trace: TraceRecord;
  /** Chorus span id (deterministic from the SDK id). */
  readonly spanId: string;
  /** Chorus span id of the nearest ancestor that emits events, fixed at start. */
  readonly parentSpanId: string | undefined;
  /** Name of the SDK agent this span runs in. */
  readonly agentName: string | undefined;
  /** SDK span id of that agent's span. */
  readonly agentSdkSpanId: string | undefined;
  readonly startedAt: string;
  /** The SDK's live span data: the SDK fills fields in after start, so read it when emitting. */
  readonly data: Readonly<Record<string, unknown>>;
  /**
   * Whether this span emits events. A turn is undecided until we know whether the model traces
   * itself (a generation or response span follows) or the turn must stand in for the model call.
   */
  emits: boolean | undefined;
  /** Its start event is out (or it has none). */
  started: boolean;
  /** Turn: when its first tool or handoff began, i.e. when the model had answered. */
  firstChildAt?: string;
  /** Turn: tool calls made in it; model spans also leave call ids here for tools to claim. */
  toolCalls?: ToolCallRef[];
  /** Turn: call ids from the model's answer not yet claimed by a tool of the turn. */
  unclaimed?: ToolCallRef[];
  /** Function: call id and arguments (from the model's output or the tool hook). */
  callId?: string;
  args?: unknown;
  result?: unknown;
  /** Agent: the run's hooks fire for it, so tools wait for `agent_tool_start` before `tool.start`. */
  hooked?: boolean;
  /** Agent: an `agent.message` went out for it. */
  messageEmitted?: boolean;
  /** Agent: model name when the agent names one (hooks only). */
  model?: string;
  /** The `metadata` of its events (the same for all of them), made at its first event. */
  metadata?: Record<string, unknown>;
  /** Model call or synthesized turn: time of the first streamed token (epoch ms) and tokens seen. */
  firstTokenAt?: number;
  tokens?: number;
  /** Turn: usage reported by the model calls of runs nested in it (agents used as tools). */
  nestedUsage?: TokenUsage;
}
