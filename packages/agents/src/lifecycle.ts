import type { ChorusEvent, Intent } from "@chorus/core";

/** Lifecycle events of a running agent, and what their listeners receive. */
export interface AgentLifecycleEvents {
  /** The stream is open and, without `after`, the catch-up assignments are queued. */
  started: { agent: string; after: number | undefined; caughtUp: number };
  /** This agent got an intent: from its stream, or found assigned at start (`catchUp`). */
  assigned: { agent: string; intent: Intent; event: ChorusEvent | undefined; catchUp: boolean };
  /** A handler threw, or writing what it returned failed. */
  handler_error: {
    agent: string;
    error: unknown;
    intentId: string;
    handler: string;
    event: ChorusEvent | undefined;
  };
  /** The stream dropped (hub restart, network). It resumes on its own, from the last seq. */
  disconnected: { agent: string; lastSeq: number | undefined; epoch: string | undefined };
  /** The stream is back; events missed meanwhile are replayed, none twice. */
  reconnected: { agent: string; lastSeq: number | undefined; epoch: string | undefined };
  /**
   * The runner stopped: `stop()` was called, or the stream was refused for good (`error`).
   * `lastSeq` and `epoch` are where a later runner resumes (`runAgent({ after, epoch })`).
   */
  stopped: {
    agent: string;
    lastSeq: number | undefined;
    epoch: string | undefined;
    error?: unknown;
  };
}

export type LifecycleListener<K extends keyof AgentLifecycleEvents> = (
  event: AgentLifecycleEvents[K],
) => void;

/** A small typed emitter. A listener that throws is reported and skipped, never breaks the runner. */
export class Lifecycle {
  readonly #listeners = new Map<keyof AgentLifecycleEvents, Set<(event: never) => void>>();
  readonly #onListenerError: (error: unknown, event: string) => void;

  constructor(onListenerError: (error: unknown, event: string) => void) {
    this.#onListenerError = onListenerError;
  }

  on<K extends keyof AgentLifecycleEvents>(event: K, listener: LifecycleListener<K>): () => void {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as (event: never) => void);
    return () => {
      set.delete(listener as (event: never) => void);
    };
  }

  emit<K extends keyof AgentLifecycleEvents>(event: K, payload: AgentLifecycleEvents[K]): void {
    for (const listener of this.#listeners.get(event) ?? []) {
      try {
        (listener as LifecycleListener<K>)(payload);
      } catch (error) {
        this.#onListenerError(error, event);
      }
    }
  }
}
