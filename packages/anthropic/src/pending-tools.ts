import type { SpanRef } from "@chorus/core/adapter-kit";

/**
 * Tool calls the model asked for whose results the caller has not sent back yet. A caller that
 * never sends a result (it gave up, or ran the tool elsewhere) must not grow this forever: 1000
 * outstanding calls is far more than any live tool loop has, and the oldest is the one least
 * likely to still get an answer, so it is the one evicted.
 */
export const MAX_PENDING_TOOLS = 1000;

export interface PendingTool {
  name: string;
  /** `performance.now()` when the model asked for it, for the tool's latency. */
  startedAt: number;
  /** The tool's own span: its end carries the same ids as its start. */
  span: SpanRef;
}
