import type { SpanRef } from "./recorder.js";

/**
 * Tool calls a model asked for whose results have not come back in a later step's prompt yet. A
 * loop that stops after running its tools never sends those results, so this must not grow
 * forever: 1000 outstanding calls is far more than any live tool loop has, and the oldest is the
 * one least likely to still get an answer, so it is the one evicted.
 */
export const MAX_PENDING_TOOLS = 1000;

export interface PendingTool {
  name: string;
  /** `performance.now()` when the model asked for it, for the tool's latency. */
  startedAt: number;
  /** The tool's own span: its end carries the same ids as its start. */
  span: SpanRef;
  /** The span the asking model call hung under: the next step of the loop hangs there too. */
  step: SpanRef;
}

/** Call id → pending tool call, oldest first (a `Map` keeps insertion order). */
export class PendingTools {
  readonly #calls = new Map<string, PendingTool>();
  readonly #max: number;

  constructor(max: number = MAX_PENDING_TOOLS) {
    this.#max = max;
  }

  get size(): number {
    return this.#calls.size;
  }

  add(callId: string, tool: PendingTool): void {
    this.#calls.delete(callId);
    this.#calls.set(callId, tool);
    while (this.#calls.size > this.#max) {
      const oldest = this.#calls.keys().next();
      if (oldest.done) break;
      this.#calls.delete(oldest.value);
    }
  }

  get(callId: string): PendingTool | undefined {
    return this.#calls.get(callId);
  }

  /** Remove and return the call, if it is still pending (a result is matched once). */
  take(callId: string): PendingTool | undefined {
    const tool = this.#calls.get(callId);
    if (tool !== undefined) this.#calls.delete(callId);
    return tool;
  }
}
