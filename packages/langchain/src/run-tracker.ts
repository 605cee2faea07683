import { type Chorus, currentTrace, TraceIdPool } from "@chorus/core";
import { agentNameOf, runMetadata, toAgentName } from "./metadata.js";
import { RunMap } from "./run-map.js";

/**
 * How a LangChain run shows up: `agent` (the root run, or a named sub-agent), `chain` (a nested
 * chain in verbose mode), `hidden` (a nested chain otherwise: no events of its own, and its
 * children link to its nearest visible ancestor), or a model, tool or retriever call.
 */
export type RunKind = "agent" | "chain" | "hidden" | "llm" | "tool" | "retriever";

/** One run in flight: its place in the trace, and what its end event needs. */
export class Run {
  /** The top-level run of this tree (itself for a root). */
  readonly root: Run;
  /** LLM calls seen under this root: a run without one has no model answer to report. */
  llmCalls = 0;
  /** An `agent.message` was already emitted for this root (by a legacy agent finish). */
  messageEmitted = false;
  model: { model?: string; provider?: string } = {};
  callId: string | undefined;
  firstTokenAt: number | undefined;
  tokens = 0;
  /** Last token chunk or agent step seen: the same object twice is the same callback twice. */
  lastSeen: unknown;

  constructor(
    readonly kind: RunKind,
    readonly name: string,
    readonly traceId: string,
    /** Own span for a visible run; the nearest visible ancestor's for a hidden one. */
    readonly spanId: string,
    readonly parentSpanId: string | undefined,
    readonly intentId: string | undefined,
    readonly agent: string | undefined,
    /** The `createAgent` name this run belongs to (tells a sub-agent from its parent). */
    readonly agentName: string | undefined,
    readonly startedAt: number,
    root: Run | undefined,
    source: MetadataSource,
  ) {
    this.root = root ?? this;
    this.#source = source;
  }

  #metadata: Record<string, unknown> | undefined;
  #source: MetadataSource | undefined;

  /**
   * The run's event metadata, built on first use: most runs under an agent are hidden chains
   * that never emit, so they never pay for it.
   */
  get metadata(): Record<string, unknown> {
    if (this.#metadata === undefined) {
      const source = this.#source!;
      this.#metadata = runMetadata(source.runId, source.parentRunId, source.lcMetadata);
      this.#source = undefined;
    }
    return this.#metadata;
  }
}

interface MetadataSource {
  runId: string;
  parentRunId: string | undefined;
  lcMetadata: unknown;
}

export interface OpenRun {
  kind: RunKind;
  runId: string;
  parentRunId: string | undefined;
  parent: Run | undefined;
  name: string;
  lcMetadata: unknown;
  /** For a chain: its name when it is a named compiled graph (see `graphNameOf`). */
  graphName?: string;
}

/**
 * Run state and correlation. One trace per top-level run (joining the caller's `withTrace()` or
 * intent-handler context when there is one), one span per visible run, children linked to their
 * parent's span. Emitting goes through here too, so every event carries the same ids.
 */
export class RunTracker {
  readonly #runs = new RunMap<Run>();
  readonly #ids = new TraceIdPool();
  readonly #chorus: Chorus;
  readonly #channel: string | undefined;
  readonly #agent: string | undefined;

  constructor(chorus: Chorus, channel: string | undefined, agent: string | undefined) {
    this.#chorus = chorus;
    this.#channel = channel;
    this.#agent = agent;
  }

  get chorus(): Chorus {
    return this.#chorus;
  }

  has(runId: string): boolean {
    return this.#runs.has(runId);
  }

  get(runId: string): Run | undefined {
    return this.#runs.get(runId);
  }

  /** Remove and return a run; `undefined` for an unknown run or a second end of the same run. */
  take(runId: string): Run | undefined {
    return this.#runs.take(runId);
  }

  /**
   * A named graph starting inside a run that belongs to another agent is a sub-agent (a
   * `createAgent` called from a tool, a subgraph acting as an agent), not a step. LangChain's
   * `lc_agent_name` cannot tell: the parent's metadata is inherited and wins.
   */
  isSubAgent(parent: Run, graphName: string | undefined): boolean {
    return graphName !== undefined && graphName !== parent.agentName;
  }

  /** The parent run, if we saw it start (a handler attached half-way sees no parent: its runs are roots). */
  parentOf(parentRunId: string | undefined): Run | undefined {
    return parentRunId === undefined ? undefined : this.#runs.get(parentRunId);
  }

  open(spec: OpenRun): Run {
    const { parent, kind } = spec;
    // The agent this run belongs to: a root's createAgent name, a sub-agent's own, else the parent's.
    const agentName = parent
      ? kind === "agent"
        ? spec.graphName
        : parent.agentName
      : (agentNameOf(spec.lcMetadata) ?? spec.graphName);
    const startedAt = performance.now();
    const source: MetadataSource = {
      runId: spec.runId,
      parentRunId: spec.parentRunId,
      lcMetadata: spec.lcMetadata,
    };
    let run: Run;
    if (parent) {
      // A nested "agent" is a named sub-agent (see isSubAgent): its events carry its own name.
      const agent =
        this.#agent ?? (kind === "agent" ? (toAgentName(agentName) ?? parent.agent) : parent.agent);
      run =
        kind === "hidden"
          ? new Run(
              kind,
              spec.name,
              parent.traceId,
              parent.spanId,
              parent.parentSpanId,
              parent.intentId,
              agent,
              agentName,
              startedAt,
              parent.root,
              source,
            )
          : new Run(
              kind,
              spec.name,
              parent.traceId,
              this.#ids.spanId(),
              parent.spanId,
              parent.intentId,
              agent,
              agentName,
              startedAt,
              parent.root,
              source,
            );
    } else {
      // A top-level run starts a trace, unless it runs inside one (an intent handler, withTrace()).
      const trace = currentTrace();
      const agent = this.#agent ?? trace?.agent ?? toAgentName(agentName);
      run = new Run(
        kind,
        spec.name,
        trace?.traceId ?? this.#ids.traceId(),
        this.#ids.spanId(),
        trace?.spanId,
        trace?.intentId,
        agent,
        agentName,
        startedAt,
        undefined,
        source,
      );
    }
    this.#runs.set(spec.runId, run);
    return run;
  }

  /** Queue one event of `run`. Synchronous: `emit()` only validates and enqueues. */
  emit(type: string, run: Run | undefined, payload: Record<string, unknown>): void {
    if (!run) {
      this.#chorus.emit({
        type,
        channel: this.#channel,
        agent: this.#agent,
        payload,
        metadata: { framework: "langchain" },
      });
      return;
    }
    this.#chorus.emit({
      type,
      channel: this.#channel,
      agent: run.agent,
      traceId: run.traceId,
      spanId: run.spanId,
      parentSpanId: run.parentSpanId,
      intentId: run.intentId,
      payload,
      metadata: run.metadata,
    });
  }
}
