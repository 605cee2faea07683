import type { Flusher } from "./flusher.js";
import type { Diagnostics } from "./logger.js";

/**
 * What the exit drain leaves of `drainTimeoutMs` (at most a tenth of it) for aborting the request
 * in flight and the process's own exit, so the process ends within `drainTimeoutMs` of its event
 * loop emptying rather than a few ms past it.
 */
const EXIT_TEARDOWN_MS = 20;

/** What a drain at exit may wait of `drainTimeoutMs`: the rest is the process's to end in. */
export function exitBudget(drainTimeoutMs: number): number {
  return drainTimeoutMs - Math.min(EXIT_TEARDOWN_MS, drainTimeoutMs / 10);
}

/** The part of a client the exit drain reads and marks. */
export interface ExitDrainTarget {
  readonly options: { readonly drainTimeoutMs: number };
  readonly flusher: Flusher;
  readonly diagnostics: Diagnostics;
  readonly closed: unknown;
  exitDrainFailed: boolean;
}

/**
 * `beforeExit` fires when the event loop is empty; a flush there keeps the process alive just
 * long enough to deliver (bounded by `drainTimeoutMs`). If a drain times out (hub down) we do
 * not try again, or the process would never exit. Node only: the browser build has no exit hook.
 */
export function drainOnExit(s: ExitDrainTarget): void {
  if (s.closed || s.exitDrainFailed || s.flusher.pending === 0) return;
  void s.flusher.flush(exitBudget(s.options.drainTimeoutMs), true).then((drained) => {
    if (!drained) {
      s.exitDrainFailed = true;
      // Given up at its timeout, or at once on a hub that refuses connections.
      s.diagnostics.warn("exit drain gave up; undelivered events are lost", {
        queued: s.flusher.pending,
      });
    }
  });
}
