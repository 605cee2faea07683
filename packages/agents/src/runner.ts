import { type ChorusEvent, ConnectionError, type EventStream, type Intent } from "@chorus/core";
import { IntentEventTypes } from "@chorus/protocol";
import { assignedIntents } from "./catch-up.js";
import { definitionOf } from "./decorators.js";
import type { AgentDefinition } from "./definition.js";
import { type Occurrence, runHandlers } from "./dispatch.js";
import { whileUnavailable } from "./hub-calls.js";
import { agentOf, TRACKED } from "./intent-fold.js";
import { IntentQueues } from "./intent-queue.js";
import { type AgentLifecycleEvents, Lifecycle, type LifecycleListener } from "./lifecycle.js";
import { createReporter, messageOf, type Report } from "./report.js";
import { type ResolvedRunOptions, type RunAgentOptions, resolveRunOptions } from "./run-options.js";
import { StateTracker } from "./state-tracker.js";
import { SeqWatermark } from "./watermark.js";

/**
 * Events accepted but not yet handled. Past this the runner stops reading its stream; the core
 * stream then pauses its connection and later resumes from `Last-Event-ID`, so a slow agent
 * holds at most this many events in memory and loses none.
 */
export const MAX_QUEUED_EVENTS = 1000;
/**
 * How long `stop()` waits for the handlers in flight before giving up on them. `ctx.signal` is
 * aborted at once, so a handler that passes it to its long calls ends well within this; one that
 * ignores it (or never settles) must not keep the process from shutting down.
 */
export const DEFAULT_STOP_TIMEOUT_MS = 30_000;
/** The hub accepts at most this many names in a stream's `types` filter. */
const MAX_STREAM_TYPES = 50;

/** The handle of a running agent. */
export interface RunningAgent {
  readonly agent: string;
  /** Every event of the agent's stream at or below this seq has been handled: resume with `{ after: lastSeq, epoch }`. */
  readonly lastSeq: number | undefined;
  /**
   * The hub store's epoch `lastSeq` counts in. Store it with `lastSeq`: a runner resumed with
   * both on a hub whose store changed (an in-memory hub restarted) starts from that store's
   * beginning instead of skipping its events up to `lastSeq`.
   */
  readonly epoch: string | undefined;
  /**
   * Close the stream, abort `ctx.signal`, let the handlers in flight finish (queued events are
   * dropped) and resolve. A handler still running after `timeoutMs` (default
   * {@link DEFAULT_STOP_TIMEOUT_MS}; `Infinity` waits for ever) is given up on: `stop()` resolves
   * anyway, its event stays above `lastSeq`, and what it returns later is not written.
   * Idempotent: later calls share the first one's wait.
   */
  stop(timeoutMs?: number): Promise<void>;
  /** Listen to lifecycle events; returns a function that removes the listener. */
  on<K extends keyof AgentLifecycleEvents>(event: K, listener: LifecycleListener<K>): () => void;
}

/**
 * Run an agent: an instance of an `@agent` class or a `defineAgent(...)` definition. Resolves
 * once the agent's stream is open and (without `after`) the intents it already holds are queued
 * for `onAssignment`.
 *
 * @example
 * const chorus = new Chorus({ apiKey: process.env.CHORUS_API_KEY });
 * const running = await runAgent(new Researcher(), { chorus, concurrency: 4 });
 * running.on("handler_error", ({ error, intentId }) => console.error(intentId, error));
 * // ...
 * await running.stop();
 */
export async function runAgent(
  target: object | AgentDefinition,
  options: RunAgentOptions,
): Promise<RunningAgent> {
  const definition = definitionOf(target);
  const runner = new AgentRunner(
    definition,
    resolveRunOptions(definition, options),
    options.on ?? {},
  );
  await runner.start();
  return {
    agent: runner.agent,
    get lastSeq() {
      return runner.lastSeq;
    },
    get epoch() {
      return runner.epoch;
    },
    stop: (timeoutMs?: number) => runner.stop(timeoutMs),
    on: (event, listener) => runner.on(event, listener),
  };
}

/**
 * What the runner knows within one store epoch. Seqs and cached intents of another store mean
 * nothing in this one, so a new epoch gets a fresh view; an item keeps the view it was accepted
 * in, so the events of the old store still in flight finish against theirs.
 */
interface EpochView {
  epoch: string | undefined;
  /** Resume point within this epoch: `lastSeq`. */
  watermark: SeqWatermark;
  tracker: StateTracker;
}

type Item =
  | { kind: "event"; event: ChorusEvent; view: EpochView }
  | { kind: "catchUp"; intent: Intent; view: EpochView };

/**
 * One running agent: reads its stream into per-intent queues, moves its view of each intent
 * forward, and hands each event to the handlers it triggers.
 */
class AgentRunner {
  readonly agent: string;
  readonly #definition: AgentDefinition;
  readonly #options: ResolvedRunOptions;
  readonly #report: Report;
  readonly #abort = new AbortController();
  readonly #lifecycle: Lifecycle;
  readonly #queues: IntentQueues<Item>;
  #view: EpochView;
  /** Highest seq accepted: a replayed event at or below it is never handled twice. */
  #seen: number | undefined;
  /** Intents whose catch-up `onAssignment` ran; their assignment event, if it also streams in, is not a new one. */
  readonly #caughtUp = new Set<string>();
  #stream: EventStream | undefined;
  #pump: Promise<void> | undefined;
  /** What ended the stream before `start()` finished, for `start()` to throw. */
  #startupFailure: { error: unknown } | undefined;
  /** Wakes `start()`'s wait for the connection when the stream ends first. */
  #onStartupFailure: ((error: unknown) => void) | undefined;
  #openGate: () => void = () => {};
  #offConnection: (() => void) | undefined;
  #connected = false;
  /** The first open (with `after`, it may come after `start()`) is not a reconnection. */
  #everConnected = false;
  #started = false;
  #stopped = false;
  #stopping: Promise<void> | undefined;
  #inexactWarned = false;
  /** `stop()` gave up on handlers still running: nothing they finish later counts. */
  #abandoned = false;
  /** The stream's last retention gap acted on (`stream.gap`, a new object for each one). */
  #gapSeen: object | undefined;
  /** The catch-up a retention gap started: stream events wait for it, as at start. */
  #gapCatchUp: Promise<void> | undefined;

  constructor(
    definition: AgentDefinition,
    options: ResolvedRunOptions,
    listeners: NonNullable<RunAgentOptions["on"]>,
  ) {
    this.#definition = definition;
    this.agent = definition.id;
    this.#options = options;
    this.#report = createReporter(options.logger, options.onError);
    this.#seen = options.after;
    this.#lifecycle = new Lifecycle((error, event) =>
      options.logger.warn(`a "${event}" listener threw; ignored`, {
        agent: this.agent,
        error: messageOf(error),
      }),
    );
    for (const [event, listener] of Object.entries(listeners)) {
      if (typeof listener === "function") {
        this.#lifecycle.on(event as "started", listener as LifecycleListener<"started">);
      }
    }
    this.#view = this.#newView(options.epoch, options.after);
    this.#queues = new IntentQueues<Item>({
      concurrency: options.concurrency,
      run: (intentId, item) => this.#process(intentId, item),
    });
  }

  get lastSeq(): number | undefined {
    return this.#view.watermark.value;
  }

  get epoch(): string | undefined {
    return this.#view.epoch;
  }

  #newView(epoch: string | undefined, after: number | undefined): EpochView {
    const { chorus, logger } = this.#options;
    const tracker = new StateTracker({
      chorus,
      agent: this.agent,
      signal: this.#abort.signal,
      onRetry: (error) =>
        logger.warn("hub unavailable while reading an intent log; retrying", {
          agent: this.agent,
          error: messageOf(error),
        }),
    });
    return { epoch, watermark: new SeqWatermark(after), tracker };
  }

  on<K extends keyof AgentLifecycleEvents>(event: K, listener: LifecycleListener<K>): () => void {
    return this.#lifecycle.on(event, listener);
  }

  /**
   * Open the stream first and only then list the intents already held, so an assignment made
   * in between is seen by one or the other (or both: see `#caughtUp`). Stream events are held
   * back until the catch-up assignments are queued, so those run first for their intents.
   */
  async start(): Promise<void> {
    const { after, epoch, startupTimeoutMs } = this.#options;
    const stream = this.#options.chorus.stream.agent(this.agent, {
      ...(after === undefined ? {} : { after, epoch }),
      ...streamTypes(this.#definition),
    });
    this.#stream = stream;
    const gate = new Promise<void>((resolve) => {
      this.#openGate = resolve;
    });
    this.#pump = this.#runPump(stream, gate);
    try {
      let caughtUp = 0;
      if (after === undefined) {
        const deadline = Date.now() + startupTimeoutMs;
        await this.#waitConnected(stream, deadline);
        caughtUp = await this.#catchUp(deadline);
      }
      if (this.#startupFailure) throw this.#startupFailure.error;
      this.#started = true;
      this.#connected = stream.connected;
      this.#everConnected = this.#connected;
      this.#openGate();
      this.#offConnection = stream.onConnection((connected) => this.#onConnection(connected));
      this.#lifecycle.emit("started", { agent: this.agent, after, caughtUp });
    } catch (error) {
      this.#stopping ??= this.#shutdown(error, false);
      await this.#stopping;
      throw error;
    }
  }

  stop(timeoutMs?: number): Promise<void> {
    if (this.#stopping) return this.#stopping;
    const wait = checkStopTimeout(timeoutMs);
    this.#stopping = this.#shutdown(undefined, true, wait);
    return this.#stopping;
  }

  async #runPump(stream: EventStream, gate: Promise<void>): Promise<void> {
    try {
      for await (const event of stream) {
        await gate;
        if (this.#gapCatchUp) await this.#gapCatchUp;
        if (this.#stopped) return;
        this.#followEpoch(stream.yieldedEpoch);
        this.#accept(event);
        await this.#queues.waitBelow(MAX_QUEUED_EVENTS);
      }
      // The core stream ends only when closed or refused; anything else would leave a runner
      // that silently handles nothing.
      if (!this.#stopped) throw new Error(`the stream of agent ${this.agent} ended unexpectedly`);
    } catch (error) {
      // The core stream retries every transient failure itself; what ends it is a refusal that
      // retrying cannot fix (revoked key, missing scope).
      if (this.#stopped) return;
      if (!this.#started) {
        this.#startupFailure = { error }; // `start()` rejects with it
        this.#onStartupFailure?.(error);
        return;
      }
      this.#report(error, { agent: this.agent, phase: "stream" });
      this.#stopping ??= this.#shutdown(error, true);
    }
  }

  /**
   * The stream's events now come from `epoch`. When that is another store than the one the
   * runner's seqs and intents came from (the core stream has restarted from its beginning),
   * start a fresh view: the old marks would drop the new store's events as already seen.
   */
  #followEpoch(epoch: string | undefined): void {
    const view = this.#view;
    if (epoch === undefined || epoch === view.epoch) return;
    if (view.epoch === undefined) {
      view.epoch = epoch; // learnt from the first connection: the store `after` was read in
      return;
    }
    this.#options.logger.warn("the hub's store changed (new epoch); handling it from its start", {
      agent: this.agent,
      lastSeq: view.watermark.value,
    });
    this.#seen = undefined;
    this.#caughtUp.clear();
    this.#view = this.#newView(epoch, 0);
  }

  #accept(event: ChorusEvent): void {
    if (!Number.isInteger(event.seq) || typeof event.intentId !== "string") {
      this.#options.logger.warn(
        "dropped a malformed event (a field missing or of the wrong type)",
        {
          agent: this.agent,
          seq: event.seq,
          type: event.type,
          intentId: event.intentId,
          reason: Number.isInteger(event.seq)
            ? "intentId is not a string"
            : "seq is not an integer",
        },
      );
      return;
    }
    if (this.#seen !== undefined && event.seq <= this.#seen) return;
    this.#seen = event.seq;
    const view = this.#view;
    view.watermark.accept(event.seq);
    this.#queues.push(event.intentId, { kind: "event", event, view });
  }

  async #process(intentId: string, item: Item): Promise<void> {
    const { tracker, watermark } = item.view;
    if (item.kind === "catchUp") {
      tracker.seed(item.intent);
      await this.#dispatch({
        intent: item.intent,
        before: undefined,
        event: undefined,
        assignment: true,
      });
      return;
    }
    const { event } = item;
    let applied: Awaited<ReturnType<StateTracker["apply"]>>;
    try {
      applied = await tracker.apply(event);
    } catch (error) {
      // Stopping mid-read: the event stays above `lastSeq`, so a resumed runner handles it.
      if (this.#abort.signal.aborted) return;
      this.#report(error, { agent: this.agent, phase: "event", intentId, event });
      this.#retire(watermark, event.seq);
      return;
    }
    if ("dropped" in applied) {
      this.#options.logger.warn(
        applied.dropped === "stale"
          ? "dropped an event whose version is not newer than the intent's (repeated or out of order)"
          : "dropped a malformed event (a field missing or of the wrong type)",
        { agent: this.agent, intentId, seq: event.seq, type: event.type, reason: applied.reason },
      );
      this.#retire(watermark, event.seq);
      return;
    }
    if (!applied.exact && !this.#inexactWarned) {
      this.#inexactWarned = true;
      this.#options.logger.warn(
        "an intent log no longer starts at its creation (retention); old states may be approximate",
        { agent: this.agent, intentId },
      );
    }
    // A replay can hold events from before this agent held the intent: never its business.
    if (applied.assignedBefore || applied.assignedAfter) {
      const mine = agentOf(event) === this.agent;
      let assignment = false;
      if (event.type === IntentEventTypes.Assigned && mine)
        assignment = !this.#caughtUp.delete(intentId);
      if (event.type === IntentEventTypes.Unassigned && mine) this.#caughtUp.delete(intentId);
      try {
        await this.#dispatch({ intent: applied.after, before: applied.before, event, assignment });
      } catch (error) {
        // Handler failures are reported inside; this is anything else, which must neither stall
        // `lastSeq` nor pass silently.
        this.#report(error, { agent: this.agent, phase: "event", intentId, event });
      }
    }
    this.#retire(watermark, event.seq);
  }

  /** The event is handled: it may count for `lastSeq`, unless `stop()` already gave up on it. */
  #retire(watermark: SeqWatermark, seq: number): void {
    if (!this.#abandoned) watermark.done(seq);
  }

  async #dispatch(occurrence: Occurrence): Promise<void> {
    const { intent, event } = occurrence;
    if (occurrence.assignment) {
      this.#lifecycle.emit("assigned", {
        agent: this.agent,
        intent,
        event,
        catchUp: event === undefined,
      });
    }
    await runHandlers(this.#definition.handlers, occurrence, {
      chorus: this.#options.chorus,
      agent: this.agent,
      signal: this.#abort.signal,
      abandoned: () => this.#abandoned,
      maxPatchAttempts: this.#options.maxPatchAttempts,
      logger: this.#options.logger,
      failed: (error, handler, phase) => {
        const intentId = intent.id;
        this.#report(error, {
          agent: this.agent,
          phase,
          intentId,
          handler,
          ...(event ? { event } : {}),
        });
        this.#lifecycle.emit("handler_error", {
          agent: this.agent,
          error,
          intentId,
          handler,
          event,
        });
      },
    });
  }

  /** Resolves on the stream's connection event; rejects when it ends, the runner stops or the deadline passes. */
  #waitConnected(stream: EventStream, deadline: number): Promise<void> {
    if (this.#startupFailure) return Promise.reject(this.#startupFailure.error);
    if (stream.connected) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const finish = (error?: unknown) => {
        clearTimeout(timer);
        off();
        this.#abort.signal.removeEventListener("abort", onAbort);
        this.#onStartupFailure = undefined;
        if (error === undefined) resolve();
        else reject(error);
      };
      const timer = setTimeout(
        () =>
          finish(
            new ConnectionError(
              `the stream of agent ${this.agent} did not open within ${this.#options.startupTimeoutMs} ms`,
              { reason: "timeout" },
            ),
          ),
        Math.max(0, deadline - Date.now()),
      );
      const off = stream.onConnection((connected) => {
        if (connected) finish();
      });
      const onAbort = () => finish(this.#abort.signal.reason);
      this.#abort.signal.addEventListener("abort", onAbort, { once: true });
      this.#onStartupFailure = (error) => finish(error);
    });
  }

  async #catchUp(deadline: number): Promise<number> {
    const signal = AbortSignal.any([
      this.#abort.signal,
      AbortSignal.timeout(Math.max(1, deadline - Date.now())),
    ]);
    let intents: Intent[];
    try {
      intents = await this.#listAssigned(signal);
    } catch (error) {
      this.#report(error, { agent: this.agent, phase: "catch_up" });
      throw error;
    }
    return this.#queueCatchUp(intents);
  }

  /** The non-final intents the agent holds, waiting out the hub's outages until `signal` aborts. */
  #listAssigned(signal: AbortSignal): Promise<Intent[]> {
    return whileUnavailable(
      () => assignedIntents(this.#options.chorus, this.agent, signal),
      signal,
      (error) =>
        this.#options.logger.warn("hub unavailable while listing assigned intents; retrying", {
          agent: this.agent,
          error: messageOf(error),
        }),
    );
  }

  /** Queue an `onAssignment` (catch-up) for each intent, but one whose catch-up is pending. */
  #queueCatchUp(intents: readonly Intent[]): number {
    let queued = 0;
    for (const intent of intents) {
      if (this.#caughtUp.has(intent.id)) continue;
      this.#caughtUp.add(intent.id);
      this.#queues.push(intent.id, { kind: "catchUp", intent, view: this.#view });
      queued++;
    }
    return queued;
  }

  /**
   * The stream resumed below what the hub's retention kept: the events in between are gone,
   * assignments among them included. The runner cannot tell which of the intents it holds those
   * handed over, so it catches up as at a start without `after`: `onAssignment` (catch-up) for
   * each, before the stream's next events, but one it already holds at the version the hub has
   * (nothing of it was deleted unseen). At least once, never lost.
   */
  #onGap(): void {
    const gap = this.#stream?.gap;
    if (gap === undefined || gap === this.#gapSeen || this.#stopped) return;
    this.#gapSeen = gap;
    this.#options.logger.warn(
      "the hub's retention deleted events this agent had not handled; catching up on the intents it holds",
      { agent: this.agent, after: gap.after, oldest: gap.oldest },
    );
    const signal = this.#abort.signal;
    const done = this.#listAssigned(signal).then(
      (intents) => {
        // An intent this runner holds at its current version lost nothing in the gap.
        const tracker = this.#view.tracker;
        if (!this.#stopped) this.#queueCatchUp(intents.filter((i) => !tracker.holds(i)));
      },
      (error) => {
        if (!signal.aborted) this.#report(error, { agent: this.agent, phase: "catch_up" });
      },
    );
    const gate = done.finally(() => {
      if (this.#gapCatchUp === gate) this.#gapCatchUp = undefined;
    });
    this.#gapCatchUp = gate;
  }

  #onConnection(connected: boolean): void {
    if (connected) this.#onGap();
    if (connected === this.#connected || this.#stopped) return;
    this.#connected = connected;
    if (connected && !this.#everConnected) {
      this.#everConnected = true;
      return;
    }
    this.#lifecycle.emit(connected ? "reconnected" : "disconnected", {
      agent: this.agent,
      lastSeq: this.lastSeq,
      epoch: this.epoch,
    });
  }

  async #shutdown(
    error: unknown,
    announce: boolean,
    timeoutMs: number = DEFAULT_STOP_TIMEOUT_MS,
  ): Promise<void> {
    this.#stopped = true;
    this.#abort.abort(new Error(`agent ${this.agent} stopped`));
    this.#offConnection?.();
    this.#openGate();
    this.#stream?.close();
    const stuck = await this.#queues.stop(timeoutMs);
    if (stuck.length > 0) {
      this.#abandoned = true;
      this.#options.logger.warn(
        `stop(): handlers still running after ${timeoutMs} ms were given up on; their events stay above lastSeq and what they return is not written`,
        { agent: this.agent, intentIds: stuck, lastSeq: this.lastSeq },
      );
    }
    await this.#pump;
    if (announce) {
      this.#lifecycle.emit("stopped", {
        agent: this.agent,
        lastSeq: this.lastSeq,
        epoch: this.epoch,
        ...(error === undefined ? {} : { error }),
      });
    }
  }
}

/** Only the types the runner tracks and the handlers ask for, so adapter traffic on the intent stays off the wire. */
function streamTypes(definition: AgentDefinition): { types?: string[] } {
  const types = new Set(TRACKED);
  for (const spec of definition.handlers) {
    if (spec.kind === "event") for (const t of spec.types) types.add(t);
  }
  return types.size <= MAX_STREAM_TYPES ? { types: [...types] } : {};
}

/** `stop()`'s wait: a non-negative number of ms (default {@link DEFAULT_STOP_TIMEOUT_MS}); `Infinity` waits for ever. */
function checkStopTimeout(timeoutMs: number | undefined): number {
  if (timeoutMs === undefined) return DEFAULT_STOP_TIMEOUT_MS;
  if (typeof timeoutMs !== "number" || Number.isNaN(timeoutMs) || timeoutMs < 0)
    throw new TypeError(
      "stop(timeoutMs): timeoutMs must be a non-negative number of ms, or Infinity",
    );
  return timeoutMs;
}
