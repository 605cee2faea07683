import {
  type Chorus,
  type ChorusEvent,
  ConnectionError,
  createConsoleLogger,
  type EventStream,
  type Intent,
  type Logger,
} from "@chorus/core";
import { IntentEventTypes } from "@chorus/protocol";
import { assignedIntents } from "./catch-up.js";
import { definitionOf } from "./decorators.js";
import type { AgentDefinition } from "./definition.js";
import { asStateChange, callHandler, type Occurrence, selectHandlers } from "./dispatch.js";
import { createHandlerContext } from "./helpers.js";
import { sleep, whileUnavailable } from "./hub-calls.js";
import { agentOf } from "./intent-fold.js";
import { IntentQueues } from "./intent-queue.js";
import { type AgentLifecycleEvents, Lifecycle, type LifecycleListener } from "./lifecycle.js";
import { DEFAULT_MAX_PATCH_ATTEMPTS, patchIntent } from "./patch.js";
import { StateTracker } from "./state-tracker.js";
import { SeqWatermark } from "./watermark.js";

/** Intents handled at once unless the agent or `runAgent` says otherwise. */
export const DEFAULT_CONCURRENCY = 4;
/**
 * Events accepted but not yet handled. Past this the runner stops reading its stream; the core
 * stream then pauses its connection and later resumes from `Last-Event-ID`, so a slow agent
 * holds at most this many events in memory and loses none.
 */
export const MAX_QUEUED_EVENTS = 1000;
/** How long `runAgent` waits for the stream to open and the catch-up list before rejecting. */
export const DEFAULT_STARTUP_TIMEOUT_MS = 30_000;
/** How often the stream's connection state is sampled for `disconnected` / `reconnected`. */
const CONNECTION_CHECK_MS = 100;
/** Log event types the runner needs whatever the handlers are: they move its view of an intent. */
const TRACKED_TYPES: readonly string[] = [
  IntentEventTypes.Created,
  IntentEventTypes.StateChanged,
  IntentEventTypes.StatusChanged,
  IntentEventTypes.Assigned,
  IntentEventTypes.Unassigned,
];
/** The hub accepts at most this many names in a stream's `types` filter. */
const MAX_STREAM_TYPES = 50;

/** Where a failure happened, for `onError`. */
export type AgentErrorPhase = "handler" | "patch" | "event" | "stream" | "catch_up";

export interface AgentErrorContext {
  agent: string;
  phase: AgentErrorPhase;
  intentId?: string;
  /** Name of the handler (method name, or function name in `defineAgent`). */
  handler?: string;
  event?: ChorusEvent;
}

export interface RunAgentOptions {
  /** The client to read, write and stream with. Use `failOpen: false` to see hub errors as errors. */
  chorus: Chorus;
  /** Intents handled at once; events of one intent are always handled one at a time, in order. */
  concurrency?: number;
  /**
   * Resume after this seq (a previous runner's `lastSeq`): every event of the agent's stream
   * after it is handled, and there is no catch-up. Without it the runner starts live and calls
   * `onAssignment` once for each intent it already holds.
   */
  after?: number;
  /** Writes of a returned patch tried before reporting a conflict (default 5). */
  maxPatchAttempts?: number;
  /** Called for every handler error, failed write, unreadable event or stream refusal. Errors it throws are ignored. */
  onError?: (error: unknown, context: AgentErrorContext) => void;
  /** Diagnostics; `false` silences them. Defaults to the console at warn level. */
  logger?: Logger | false;
  /** See {@link DEFAULT_STARTUP_TIMEOUT_MS}. */
  startupTimeoutMs?: number;
  /**
   * Lifecycle listeners registered before the runner starts: the only way to see `started` (and
   * catch-up `assigned` events), which fire before `runAgent` resolves.
   */
  on?: { [K in keyof AgentLifecycleEvents]?: LifecycleListener<K> };
}

/** The handle of a running agent. */
export interface RunningAgent {
  readonly agent: string;
  /** Every event of the agent's stream at or below this seq has been handled: resume with `{ after: lastSeq }`. */
  readonly lastSeq: number | undefined;
  /** Close the stream, let the handlers in flight finish (queued events are dropped), resolve. Idempotent. */
  stop(): Promise<void>;
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
  const runner = new AgentRunner(definitionOf(target), options);
  await runner.start();
  return {
    agent: runner.agent,
    get lastSeq() {
      return runner.lastSeq;
    },
    stop: () => runner.stop(),
    on: (event, listener) => runner.on(event, listener),
  };
}

type Item = { kind: "event"; event: ChorusEvent } | { kind: "catchUp"; intent: Intent };

class AgentRunner {
  readonly agent: string;
  readonly #definition: AgentDefinition;
  readonly #chorus: Chorus;
  readonly #logger: Logger;
  readonly #onError: RunAgentOptions["onError"];
  readonly #after: number | undefined;
  readonly #maxPatchAttempts: number;
  readonly #startupTimeoutMs: number;
  readonly #abort = new AbortController();
  readonly #lifecycle: Lifecycle;
  readonly #tracker: StateTracker;
  readonly #queues: IntentQueues<Item>;
  readonly #watermark: SeqWatermark;
  /** Highest seq accepted: a replayed event at or below it is never handled twice. */
  #seen: number | undefined;
  /** Intents whose catch-up `onAssignment` ran; their assignment event, if it also streams in, is not a new one. */
  readonly #caughtUp = new Set<string>();
  #stream: EventStream | undefined;
  #pump: Promise<void> | undefined;
  #openGate: () => void = () => {};
  #monitor: NodeJS.Timeout | undefined;
  #connected = false;
  #started = false;
  #stopped = false;
  #stopping: Promise<void> | undefined;
  #inexactWarned = false;

  constructor(definition: AgentDefinition, options: RunAgentOptions) {
    if (!options || typeof options.chorus !== "object" || options.chorus === null) {
      throw new TypeError("runAgent needs { chorus }: a Chorus client");
    }
    this.#definition = definition;
    this.agent = definition.id;
    this.#chorus = options.chorus;
    this.#logger =
      options.logger === false ? silent : (options.logger ?? createConsoleLogger("warn"));
    this.#onError = options.onError;
    this.#after = checkAfter(options.after);
    const concurrency = checkPositive(
      options.concurrency ?? definition.options.concurrency ?? DEFAULT_CONCURRENCY,
      "concurrency",
    );
    this.#maxPatchAttempts = checkPositive(
      options.maxPatchAttempts ?? definition.options.maxPatchAttempts ?? DEFAULT_MAX_PATCH_ATTEMPTS,
      "maxPatchAttempts",
    );
    this.#startupTimeoutMs = checkPositive(
      options.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS,
      "startupTimeoutMs",
    );
    this.#seen = this.#after;
    this.#watermark = new SeqWatermark(this.#after);
    this.#lifecycle = new Lifecycle((error, event) =>
      this.#logger.warn(`a "${event}" listener threw; ignored`, {
        agent: this.agent,
        error: messageOf(error),
      }),
    );
    for (const [event, listener] of Object.entries(options.on ?? {})) {
      if (typeof listener === "function")
        this.#lifecycle.on(event as "started", listener as LifecycleListener<"started">);
    }
    this.#tracker = new StateTracker({
      chorus: this.#chorus,
      agent: this.agent,
      signal: this.#abort.signal,
      onRetry: (error) =>
        this.#logger.warn("hub unavailable while reading an intent log; retrying", {
          agent: this.agent,
          error: messageOf(error),
        }),
    });
    this.#queues = new IntentQueues<Item>({
      concurrency,
      run: (intentId, item) => this.#process(intentId, item),
    });
  }

  get lastSeq(): number | undefined {
    return this.#watermark.value;
  }

  on<K extends keyof AgentLifecycleEvents>(event: K, listener: LifecycleListener<K>): () => void {
    return this.#lifecycle.on(event, listener);
  }

  /**
   * Open the stream first and only then list the intents already held, so an assignment made
   * in between is seen by one or the other (or both: see `#caughtUp`). Stream events are held
   * until the catch-up assignments are queued, so those run first for their intents.
   */
  async start(): Promise<void> {
    const stream = this.#chorus.stream.agent(this.agent, {
      ...(this.#after === undefined ? {} : { after: this.#after }),
      ...streamTypes(this.#definition),
    });
    this.#stream = stream;
    const gate = new Promise<void>((resolve) => {
      this.#openGate = resolve;
    });
    let failStartup: (error: unknown) => void = () => {};
    const streamFailed = new Promise<never>((_, reject) => {
      failStartup = reject;
    });
    streamFailed.catch(() => {}); // observed by the startup race only
    this.#pump = this.#runPump(stream, gate, failStartup);
    try {
      let caughtUp = 0;
      if (this.#after === undefined) {
        const deadline = Date.now() + this.#startupTimeoutMs;
        await this.#waitConnected(stream, streamFailed, deadline);
        caughtUp = await this.#catchUp(deadline);
      }
      this.#connected = stream.connected;
      this.#openGate();
      this.#monitor = setInterval(() => this.#checkConnection(), CONNECTION_CHECK_MS);
      this.#monitor.unref?.();
      this.#lifecycle.emit("started", { agent: this.agent, after: this.#after, caughtUp });
      this.#started = true;
    } catch (error) {
      this.#stopping ??= this.#shutdown(error, false);
      await this.#stopping;
      throw error;
    }
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#shutdown(undefined, true);
    return this.#stopping;
  }

  async #runPump(
    stream: EventStream,
    gate: Promise<void>,
    failStartup: (error: unknown) => void,
  ): Promise<void> {
    try {
      for await (const event of stream) {
        await gate;
        if (this.#stopped) return;
        this.#accept(event);
        await this.#queues.waitBelow(MAX_QUEUED_EVENTS);
      }
      // The core stream ends only when closed or refused; anything else would leave a runner
      // that silently handles nothing.
      if (!this.#stopped) throw new Error(`the stream of agent ${this.agent} ended unexpectedly`);
    } catch (error) {
      // The core stream retries every transient failure itself; what ends it is a refusal that
      // retrying cannot fix (revoked key, missing scope).
      failStartup(error);
      // During start, `start()` itself reports the failure by rejecting.
      if (this.#stopped || !this.#started) return;
      this.#report(error, { agent: this.agent, phase: "stream" });
      this.#stopping ??= this.#shutdown(error, true);
    }
  }

  #accept(event: ChorusEvent): void {
    if (typeof event.seq !== "number" || typeof event.intentId !== "string") return;
    if (this.#seen !== undefined && event.seq <= this.#seen) return;
    this.#seen = event.seq;
    this.#watermark.accept(event.seq);
    this.#queues.push(event.intentId, { kind: "event", event });
  }

  async #process(intentId: string, item: Item): Promise<void> {
    if (item.kind === "catchUp") {
      this.#tracker.seed(item.intent);
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
      applied = await this.#tracker.apply(event);
    } catch (error) {
      // Stopping mid-read: the event stays above `lastSeq`, so a resumed runner handles it.
      if (this.#abort.signal.aborted) return;
      this.#report(error, { agent: this.agent, phase: "event", intentId, event });
      this.#watermark.done(event.seq);
      return;
    }
    if (!applied.exact && !this.#inexactWarned) {
      this.#inexactWarned = true;
      this.#logger.warn(
        "an intent log no longer starts at its creation (retention); old states may be approximate",
        {
          agent: this.agent,
          intentId,
        },
      );
    }
    // Events from before this agent held the intent can appear in a replay; they were never its business.
    if (applied.assignedBefore || applied.assignedAfter) {
      const mine = agentOf(event) === this.agent;
      let assignment = false;
      if (event.type === IntentEventTypes.Assigned && mine)
        assignment = !this.#caughtUp.delete(intentId);
      if (event.type === IntentEventTypes.Unassigned && mine) this.#caughtUp.delete(intentId);
      await this.#dispatch({ intent: applied.after, before: applied.before, event, assignment });
    }
    this.#watermark.done(event.seq);
  }

  /** Run the occurrence's handlers one after another, each isolated from the others' failures. */
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
    for (const invocation of selectHandlers(this.#definition.handlers, occurrence)) {
      const handler = invocation.spec.name;
      const ctx = createHandlerContext({
        chorus: this.#chorus,
        agent: this.agent,
        intentId: intent.id,
        event,
        signal: this.#abort.signal,
        maxPatchAttempts: this.#maxPatchAttempts,
      });
      let result: unknown;
      try {
        result = await callHandler(invocation, ctx);
      } catch (error) {
        this.#handlerFailed(error, handler, occurrence, "handler");
        continue;
      }
      const change = asStateChange(result);
      if (change === undefined) {
        if (result !== undefined && result !== null) {
          this.#logger.warn(
            `handler ${handler} returned a ${typeof result}; only an object or an updater is written`,
            {
              agent: this.agent,
              intentId: intent.id,
            },
          );
        }
        continue;
      }
      try {
        // If-Match is the version this handler saw, not whatever the intent is at by now.
        await patchIntent(this.#chorus, intent, change, {
          maxAttempts: this.#maxPatchAttempts,
          actor: this.agent,
        });
      } catch (error) {
        this.#handlerFailed(error, handler, occurrence, "patch");
      }
    }
  }

  #handlerFailed(
    error: unknown,
    handler: string,
    occurrence: Occurrence,
    phase: "handler" | "patch",
  ): void {
    const intentId = occurrence.intent.id;
    const { event } = occurrence;
    this.#report(error, {
      agent: this.agent,
      phase,
      intentId,
      handler,
      ...(event ? { event } : {}),
    });
    this.#lifecycle.emit("handler_error", { agent: this.agent, error, intentId, handler, event });
  }

  #report(error: unknown, context: AgentErrorContext): void {
    this.#logger.error(
      context.handler === undefined
        ? `agent ${this.agent}: ${context.phase} failed`
        : `handler ${context.handler} failed`,
      {
        agent: this.agent,
        phase: context.phase,
        intentId: context.intentId,
        seq: context.event?.seq,
        error: messageOf(error),
      },
    );
    try {
      this.#onError?.(error, context);
    } catch {
      // onError is the user's diagnostics hook; its own failure must not stop the runner.
    }
  }

  async #waitConnected(
    stream: EventStream,
    streamFailed: Promise<never>,
    deadline: number,
  ): Promise<void> {
    while (!stream.connected) {
      if (Date.now() > deadline) {
        throw new ConnectionError(
          `the stream of agent ${this.agent} did not open within ${this.#startupTimeoutMs} ms`,
          {
            reason: "timeout",
          },
        );
      }
      await Promise.race([sleep(20), streamFailed]);
    }
  }

  async #catchUp(deadline: number): Promise<number> {
    const signal = AbortSignal.any([
      this.#abort.signal,
      AbortSignal.timeout(Math.max(1, deadline - Date.now())),
    ]);
    let intents: Intent[];
    try {
      intents = await whileUnavailable(
        () => assignedIntents(this.#chorus, this.agent),
        signal,
        (error) =>
          this.#logger.warn("hub unavailable while listing assigned intents; retrying", {
            agent: this.agent,
            error: messageOf(error),
          }),
      );
    } catch (error) {
      this.#report(error, { agent: this.agent, phase: "catch_up" });
      throw error;
    }
    for (const intent of intents) {
      this.#caughtUp.add(intent.id);
      this.#queues.push(intent.id, { kind: "catchUp", intent });
    }
    return intents.length;
  }

  #checkConnection(): void {
    const connected = this.#stream?.connected ?? false;
    if (connected === this.#connected || this.#stopped) return;
    this.#connected = connected;
    this.#lifecycle.emit(connected ? "reconnected" : "disconnected", {
      agent: this.agent,
      lastSeq: this.lastSeq,
    });
  }

  async #shutdown(error: unknown, announce: boolean): Promise<void> {
    this.#stopped = true;
    this.#abort.abort(new Error(`agent ${this.agent} stopped`));
    clearInterval(this.#monitor);
    this.#openGate();
    this.#stream?.close();
    await this.#queues.stop();
    await this.#pump;
    if (announce) {
      this.#lifecycle.emit("stopped", {
        agent: this.agent,
        lastSeq: this.lastSeq,
        ...(error === undefined ? {} : { error }),
      });
    }
  }
}

/** Only the types the runner tracks and the handlers ask for, so adapter traffic on the intent stays off the wire. */
function streamTypes(definition: AgentDefinition): { types?: string[] } {
  const types = new Set(TRACKED_TYPES);
  for (const spec of definition.handlers)
    if (spec.kind === "event") for (const t of spec.types) types.add(t);
  return types.size <= MAX_STREAM_TYPES ? { types: [...types] } : {};
}

function checkAfter(after: number | undefined): number | undefined {
  if (after === undefined) return undefined;
  if (!Number.isInteger(after) || after < 0)
    throw new TypeError("after must be a seq (a non-negative integer)");
  return after;
}

function checkPositive(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1)
    throw new TypeError(`${name} must be a positive integer`);
  return value;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };
