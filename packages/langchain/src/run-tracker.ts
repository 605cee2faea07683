import { type Chorus, currentTrace, TraceIdPool } from "@chorus/core";
import { agentNameOf, runMetadata, toAgentName } from "./metadata.js";
import { BoundedMap } from "@chorus/core/adapter-kit";

/**
 * Runs in flight at once, per handler. A run whose end never arrives (an aborted stream, a
 * framework bug, a handler attached half-way through a run) would otherwise stay forever; ten
 * thousand covers any real concurrency (each entry is a few hundred bytes) while bounding the
 * leak. The oldest run is evicted first: it is the one most likely to be orphaned.
 */
export const MAX_RUNS_IN_FLIGHT = 10_000;

/**
 * How a LangChain run shows up: `agent` (the root run, or a named sub-agent), `chain` (a nested
 * chain in verbose mode), `hidden` (a nested chain otherwise: no events of its own, and its
 * children link to its nearest visible ancestor), or a model, tool or retriever call.
 */
export type RunKind = "agent" | "chain" | "hidden" | "llm" | "tool" | "retriever";

/** Where a run sits and what it belongs to: everything a {@link Run} is made from. */
export interface RunInit {
  kind: RunKind;
  /** LangChain's run id: the key this run is tracked under. */
  runId: string;
  name: string;
  traceId: string;
  /** Own span for a visible run; the nearest visible ancestor's for a hidden one. */
  spanId: string;
  parentSpanId: string | undefined;
  intentId: string | undefined;
  agent: string | undefined;
  /** The `createAgent` name this run belongs to (tells a sub-agent from its parent). */
  agentName: string | undefined;
  startedAt: number;
  /** The run this one is nested in; `undefined` for a root. */
  parent: Run | undefined;
  source: MetadataSource;
}

/** One run in flight: its place in the trace, and what its end event needs. */
export class Run {
  readonly kind: RunKind;
  readonly runId: string;
  readonly name: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly intentId: string | undefined;
  readonly agent: string | undefined;
  readonly agentName: string | undefined;
  readonly startedAt: number;
  /** The run this one is nested in; `undefined` for a root. */
  readonly parent: Run | undefined;
  /**
   * Its children still in flight (each leaves when it ends), made on the first child: what is
   * left here when this run ends was abandoned by LangChain (see the recorder's `#orphans`).
   */
  children: Set<Run> | undefined;
  /** The top-level run of this tree (itself for a root). */
  readonly root: Run;
  /**
   * The agent run this run belongs to: itself for an agent, else its parent's. A named subgraph
   * is an agent of its own, so its model calls and its final answer are its own, not the root's.
   */
  readonly owner: Run;
  /** LLM calls seen under this agent run (not under its sub-agents): one without any has no answer to report. */
  llmCalls = 0;
  /** An `agent.message` was already emitted for this run (by a legacy agent finish). */
  messageEmitted = false;
  /** LangGraph paused this tree (`interrupt()`): the root's `agent.end` says so. */
  interrupted = false;
  model: { model?: string; provider?: string } = {};
  callId: string | undefined;
  firstTokenAt: number | undefined;
  tokens = 0;
  /** Last token chunk or agent step seen: the same object twice is the same callback twice. */
  lastSeen: unknown;
  /** Stops listening to the model call's abort signal (see the recorder's `#watchAbort`). */
  unwatch: (() => void) | undefined;

  constructor(init: RunInit) {
    this.kind = init.kind;
    this.runId = init.runId;
    this.parent = init.parent;
    this.name = init.name;
    this.traceId = init.traceId;
    this.spanId = init.spanId;
    this.parentSpanId = init.parentSpanId;
    this.intentId = init.intentId;
    this.agent = init.agent;
    this.agentName = init.agentName;
    this.startedAt = init.startedAt;
    this.root = init.parent?.root ?? this;
    this.owner = init.kind === "agent" || !init.parent ? this : init.parent.owner;
    this.#source = init.source;
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
  readonly #runs = new BoundedMap<string, Run>(MAX_RUNS_IN_FLIGHT);
  readonly #ids = new TraceIdPool();
  readonly #chorus: Chorus;
  readonly #channel: string | undefined;
  readonly #agent: string | undefined;

  constructor(options: { chorus: Chorus; channel: string | undefined; agent: string | undefined }) {
    this.#chorus = options.chorus;
    this.#channel = options.channel;
    this.#agent = options.agent;
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
    const run = this.#runs.take(runId);
    run?.parent?.children?.delete(run);
    return run;
  }

  /** Whether `run` is still in flight (not ended, not evicted). */
  isOpen(run: Run): boolean {
    return this.#runs.get(run.runId) === run;
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
      const hidden = kind === "hidden";
      run = new Run({
        kind,
        runId: spec.runId,
        name: spec.name,
        traceId: parent.traceId,
        spanId: hidden ? parent.spanId : this.#ids.spanId(),
        parentSpanId: hidden ? parent.parentSpanId : parent.spanId,
        intentId: parent.intentId,
        agent,
        agentName,
        startedAt,
        parent,
        source,
      });
    } else {
      // A top-level run starts a trace, unless it runs inside one (an intent handler, withTrace()).
      const trace = currentTrace();
      run = new Run({
        kind,
        runId: spec.runId,
        name: spec.name,
        traceId: trace?.traceId ?? this.#ids.traceId(),
        spanId: this.#ids.spanId(),
        parentSpanId: trace?.spanId,
        intentId: trace?.intentId,
        agent: this.#agent ?? trace?.agent ?? toAgentName(agentName),
        agentName,
        startedAt,
        parent: undefined,
        source,
      });
    }
    this.#runs.set(spec.runId, run);
    if (parent) {
      parent.children ??= new Set();
      parent.children.add(run);
    }
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
