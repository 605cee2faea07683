import type { ChorusEvent } from "@chorus/protocol";

export type StoredListener = (org: string, events: readonly ChorusEvent[]) => void;

/**
 * In-process fan-out of freshly stored events to SSE connections and the MQTT publisher.
 * One bus per hub instance (never module-global), so two hubs in one process stay apart.
 * A listener that throws is isolated: the others still run.
 */
export class EventBus {
  readonly #listeners = new Set<StoredListener>();
  readonly #onListenerError: (error: unknown) => void;

  constructor(onListenerError: (error: unknown) => void) {
    this.#onListenerError = onListenerError;
  }

  subscribe(listener: StoredListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  publish(org: string, events: readonly ChorusEvent[]): void {
    if (events.length === 0) return;
    for (const listener of this.#listeners) {
      try {
        listener(org, events);
      } catch (error) {
        this.#onListenerError(error);
      }
    }
  }

  get size(): number {
    return this.#listeners.size;
  }
}
