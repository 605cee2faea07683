import type { Chorus } from "@chorus/core";
import type { Span, SpanData, Trace, TracingProcessor } from "@openai/agents";
import type { Safely } from "@chorus/core/adapter-kit";
import type { SpanTracker } from "./tracker.js";

/** How long `forceFlush()` and `shutdown()` (called by the SDK) wait for the hub when given no timeout. */
export const DEFAULT_FLUSH_TIMEOUT_MS = 5_000;

/**
 * The `TracingProcessor` registered with the SDK. The SDK awaits these methods in sequence on
 * the run's path (a rejection from `onTraceStart` rejects the run), so each one is guarded and
 * synchronous inside: it only hands the span to the tracker, which only enqueues events.
 *
 * The SDK offers no way to remove a processor, so `deactivate()` turns this one into a no-op in
 * place; registering again reactivates it instead of adding a second one.
 */
export class ChorusTracingProcessor implements TracingProcessor {
  readonly #tracker: SpanTracker;
  readonly #safely: Safely;
  readonly #chorus: Chorus;
  #active = true;

  constructor(deps: { tracker: SpanTracker; safely: Safely; chorus: Chorus }) {
    this.#tracker = deps.tracker;
    this.#safely = deps.safely;
    this.#chorus = deps.chorus;
  }

  get active(): boolean {
    return this.#active;
  }

  activate(): void {
    this.#active = true;
  }

  /** Stop emitting; spans still open are forgotten (their ends would arrive without starts). */
  deactivate(): void {
    this.#active = false;
    this.#tracker.clear();
  }

  async onTraceStart(trace: Trace): Promise<void> {
    if (this.#active) this.#safely("onTraceStart", () => this.#tracker.traceStart(trace));
  }

  async onTraceEnd(trace: Trace): Promise<void> {
    if (this.#active) this.#safely("onTraceEnd", () => this.#tracker.traceEnd(trace));
  }

  async onSpanStart(span: Span<SpanData>): Promise<void> {
    if (this.#active) this.#safely("onSpanStart", () => this.#tracker.spanStart(span));
  }

  async onSpanEnd(span: Span<SpanData>): Promise<void> {
    if (this.#active) this.#safely("onSpanEnd", () => this.#tracker.spanEnd(span));
  }

  /** The SDK calls this on `getGlobalTraceProvider().forceFlush()`: deliver what is queued. */
  async forceFlush(): Promise<void> {
    await this.#flush("forceFlush", DEFAULT_FLUSH_TIMEOUT_MS);
  }

  /**
   * The SDK calls this when processors are replaced and from its own `beforeExit` hook (with
   * 5 s). It drains within the client's `drainTimeoutMs` (the exit budget the user chose), but
   * never closes the client, which the user may still be using.
   */
  async shutdown(timeout?: number): Promise<void> {
    try {
      await this.#chorus.drain(timeout);
    } catch (error) {
      this.#safely.report(error, { operation: "shutdown" });
    }
  }

  async #flush(operation: string, timeoutMs: number): Promise<void> {
    try {
      await this.#chorus.flush(timeoutMs);
    } catch (error) {
      this.#safely.report(error, { operation });
    }
  }
}
