import type { SpanRef } from "@chorus/core/adapter-kit";

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
