import { getCurrentSpan } from "@openai/agents";
import type { Safely } from "@chorus/core/adapter-kit";
import type { ObservableStream } from "./stream.js";
import type { SpanTracker } from "./tracker.js";

/**
 * Something whose run hooks we can listen to: a `Runner` (every agent it runs) or an `Agent`
 * (that agent only). Structural, so any copy of the SDK (ESM or CJS) and any context type fits:
 * `never` parameters accept every `on`/`off` signature, and the listeners we pass read their
 * arguments defensively.
 */
export interface HookTarget {
  on(type: never, listener: never): unknown;
  off(type: never, listener: never): unknown;
}

type Listener = (...args: unknown[]) => void;
type Bag = Record<string, unknown>;

/**
 * Listens to the run hooks for what spans leave out: the call id of each tool call, the final
 * text (`agent.message`), and tools that run without a function span. The SDK calls listeners
 * synchronously and a throw rejects the run, so every listener is guarded. The tracker finds
 * the span each hook belongs to through the SDK's current span, which the hooks run inside.
 *
 * Runner listeners get the agent as an extra second argument; agent listeners do not.
 */
export function attachHooks(target: HookTarget, tracker: SpanTracker, safely: Safely): () => void {
  const isRunner = typeof (target as { run?: unknown }).run === "function";
  const shift = isRunner ? 1 : 0;
  const guarded = (event: string, fn: (args: unknown[]) => void): [string, Listener] => [
    event,
    (...args: unknown[]) => safely(`hook.${event}`, () => fn(args)),
  ];
  const listeners: [string, Listener][] = [
    guarded("agent_start", (args) => tracker.hookAgentStart(getCurrentSpan(), bag(args[1])?.model)),
    guarded("agent_end", (args) => tracker.hookAgentEnd(getCurrentSpan(), args[1 + shift])),
    guarded("agent_tool_start", (args) =>
      tracker.hookToolStart(
        getCurrentSpan(),
        bag(args[1 + shift])?.name,
        bag(bag(args[2 + shift])?.toolCall),
      ),
    ),
    guarded("agent_tool_end", (args) =>
      tracker.hookToolEnd(getCurrentSpan(), args[2 + shift], bag(bag(args[3 + shift])?.toolCall)),
    ),
  ];
  const emitter = target as unknown as {
    on(type: string, l: Listener): unknown;
    off(type: string, l: Listener): unknown;
  };
  for (const [event, listener] of listeners) emitter.on(event, listener);
  const unwatch = isRunner ? watchStreamedRuns(target, tracker, safely) : undefined;
  return () => {
    for (const [event, listener] of listeners)
      safely("hooks.detach", () => emitter.off(event, listener));
    if (unwatch) safely("hooks.detach", unwatch);
  };
}

type Run = (this: unknown, ...args: unknown[]) => unknown;

/**
 * The SDK records a streamed run's cancellation (the reader stopped early, the stream was
 * cancelled, the run's signal aborted) only on the `StreamedRunResult`; its spans end as if the
 * run had finished. A `Runner` we were given hands those results out from `run()`: this
 * runner's `run` (on the instance only) notes each streamed result's trace, so its cancellation
 * is seen however the stream is read. The result, and what `run()` resolves or rejects with, are
 * the SDK's own.
 */
function watchStreamedRuns(target: HookTarget, tracker: SpanTracker, safely: Safely): () => void {
  const runner = target as unknown as { run: Run };
  const run = runner.run;
  const hadOwn = Object.hasOwn(runner, "run");
  const watched: Run = function (this: unknown, ...args) {
    const pending = run.apply(this, args);
    if ((args[2] as { stream?: unknown } | undefined)?.stream !== true) return pending;
    return Promise.resolve(pending).then((result) => {
      safely("hook.run", () => watchResult(result, tracker));
      return result;
    });
  };
  runner.run = watched;
  return () => {
    // Only our own wrapper is taken off; one put over it later stays (and calls ours).
    if (runner.run !== watched) return;
    if (hadOwn) runner.run = run;
    else delete (runner as { run?: Run }).run;
  };
}

function watchResult(result: unknown, tracker: SpanTracker): void {
  const streamed = result as ObservableStream<unknown> | null;
  const traceId = streamed?.state?._trace?.traceId;
  if (typeof traceId === "string") tracker.watchStream(traceId, () => streamed?.cancelled === true);
}

function bag(value: unknown): Bag | undefined {
  return typeof value === "object" && value !== null ? (value as Bag) : undefined;
}
