import type { ChorusEvent } from "@chorus/protocol";
import { topicMatches } from "@chorus/protocol/wire";
import type { Diagnostics } from "./logger.js";
import { RingBuffer } from "./ring-buffer.js";

const decoder = new TextDecoder();

export type RealtimeCallback = (event: ChorusEvent, topic: string) => void | Promise<void>;

/**
 * Event ids remembered to drop the second copy of a message. Copies arrive when two
 * connections overlap during a credential swap, or when a broker delivers once per matching
 * subscription; either way they are recent, so a small window suffices.
 */
export const DEDUPE_WINDOW = 4096;

/**
 * Subscriptions by topic filter, and delivery of one message to exactly the callbacks whose
 * filter matches it: once per callback even when several of its filters overlap.
 */
export class SubscriptionRegistry {
  readonly #byFilter = new Map<string, Set<RealtimeCallback>>();
  readonly #recent = new Set<string>();
  readonly #recentOrder = new RingBuffer<string>();
  readonly #diagnostics: Diagnostics;

  constructor(diagnostics: Diagnostics) {
    this.#diagnostics = diagnostics;
  }

  get filters(): string[] {
    return [...this.#byFilter.keys()];
  }

  get size(): number {
    return this.#byFilter.size;
  }

  has(filter: string): boolean {
    return this.#byFilter.has(filter);
  }

  /** Returns true when the filter is new (the broker must be told). */
  add(filter: string, callback: RealtimeCallback): boolean {
    const existing = this.#byFilter.get(filter);
    if (existing) {
      existing.add(callback);
      return false;
    }
    this.#byFilter.set(filter, new Set([callback]));
    return true;
  }

  /** Drop one callback (or every callback) of a filter. Returns true when the filter is now unused. */
  remove(filter: string, callback?: RealtimeCallback): boolean {
    const callbacks = this.#byFilter.get(filter);
    if (!callbacks) return false;
    if (callback) callbacks.delete(callback);
    if (!callback || callbacks.size === 0) {
      this.#byFilter.delete(filter);
      return true;
    }
    return false;
  }

  clear(): void {
    this.#byFilter.clear();
  }

  /** Deliver one broker message. Never throws; callback failures are logged and skipped. */
  dispatch(topic: string, payload: Uint8Array): void {
    let event: ChorusEvent;
    try {
      event = JSON.parse(decoder.decode(payload)) as ChorusEvent;
    } catch {
      this.#diagnostics.warnRateLimited(
        "realtime_bad_json",
        "ignored a realtime message that is not JSON",
        { topic },
      );
      return;
    }
    if (typeof event !== "object" || event === null) return;
    if (typeof event.id === "string" && this.#seen(event.id)) return;
    const targets = new Set<RealtimeCallback>();
    for (const [filter, callbacks] of this.#byFilter) {
      if (!topicMatches(filter, topic)) continue;
      for (const callback of callbacks) targets.add(callback);
    }
    for (const callback of targets) this.#invoke(callback, event, topic);
  }

  #invoke(callback: RealtimeCallback, event: ChorusEvent, topic: string): void {
    const onFailure = (error: unknown) => {
      this.#diagnostics.report(error, { operation: "realtime.callback", topic });
      this.#diagnostics.warnRateLimited("realtime_callback", "a realtime callback threw; skipped", {
        topic,
        error: error instanceof Error ? error.message : String(error),
      });
    };
    try {
      const result = callback(event, topic);
      if (result && typeof (result as Promise<void>).then === "function")
        (result as Promise<void>).then(undefined, onFailure);
    } catch (error) {
      onFailure(error);
    }
  }

  #seen(id: string): boolean {
    if (this.#recent.has(id)) return true;
    this.#recent.add(id);
    this.#recentOrder.push(id);
    if (this.#recentOrder.length > DEDUPE_WINDOW)
      this.#recent.delete(this.#recentOrder.shift() as string);
    return false;
  }
}
