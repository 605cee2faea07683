import { type BackoffPolicy, retryDelay } from "./backoff.js";
import type { CircuitBreaker } from "./circuit-breaker.js";
import { ChorusError, PayloadTooLargeError, ValidationError } from "./errors.js";
import type { HttpClient } from "./http.js";
import type { Diagnostics } from "./logger.js";
import type { DeliveryQueue, QueuedEvent } from "./queue.js";
import { isAvailabilityFailure, retryAfterOf } from "./retry.js";
import type { Counters } from "./stats.js";
import { recordOutcome } from "./transport.js";

export interface FlusherConfig {
  flushIntervalMs: number;
  maxBatchSize: number;
  maxBatchBytes: number;
  backoff: BackoffPolicy;
}

export interface FlusherDeps {
  queue: DeliveryQueue;
  http: HttpClient;
  breaker: CircuitBreaker;
  counters: Counters;
  diagnostics: Diagnostics;
  config: FlusherConfig;
}

/** After a send: go on with the next batch now, or wait (backoff, `Retry-After`, open circuit). */
type Outcome = "continue" | "retry";

/**
 * Background delivery. One send loop at a time, one batch in flight at a time, always from the
 * front of the queue: events reach the hub in the order they were emitted, and a batch that
 * fails goes back to the front and is sent again before anything newer.
 *
 * Timers are `unref()`'d, so delivery never keeps a process alive, except while someone awaits
 * `flush()`/`close()`: then they are ref'd for at most that call's timeout.
 */
export class Flusher {
  readonly #deps: FlusherDeps;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = 0;
  #running = false;
  #inFlight = 0;
  /** Consecutive failed attempts: the backoff exponent. */
  #attempt = 0;
  /** No attempt before this time (backoff or `Retry-After`). */
  #blockedUntil = 0;
  /** Set after a 413: the next batches are at most this big. */
  #batchCap: number | undefined;
  /** Active `flush()` calls; while any is waiting, timers keep the process alive. */
  #holds = 0;
  readonly #waiters = new Set<{ target: number; resolve: (drained: boolean) => void }>();
  #stopped = false;

  constructor(deps: FlusherDeps) {
    this.#deps = deps;
  }

  /** Events in the queue or in flight. */
  get pending(): number {
    return this.#deps.queue.length + this.#inFlight;
  }

  /** Called after each enqueue: a full batch goes now, a partial one within the flush interval. */
  notify(): void {
    if (this.#stopped) return;
    const { queue, config } = this.#deps;
    this.#wake(
      queue.length >= (this.#batchCap ?? config.maxBatchSize) ? 0 : config.flushIntervalMs,
    );
  }

  /**
   * Wait until every event queued before this call has left the queue (delivered, refused or
   * dropped), or `timeoutMs` passes. Resolves `true` when drained, `false` on timeout. An open
   * circuit is respected (no request storm), but a backoff wait is cut short: the caller asked.
   */
  flush(timeoutMs: number): Promise<boolean> {
    const { counters } = this.#deps;
    const target = counters.enqueued;
    if (counters.settled >= target) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      this.#holds++;
      const waiter = {
        target,
        resolve: (drained: boolean) => {
          clearTimeout(timeout);
          this.#waiters.delete(waiter);
          this.#holds--;
          this.#refTimer();
          resolve(drained);
        },
      };
      const timeout = setTimeout(() => waiter.resolve(false), Math.max(0, timeoutMs));
      this.#waiters.add(waiter);
      this.#blockedUntil = 0;
      this.#wake(0);
      this.#refTimer();
    });
  }

  /** Stop scheduling. A batch already in flight finishes. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const waiter of [...this.#waiters])
      waiter.resolve(this.#deps.counters.settled >= waiter.target);
  }

  #wake(delayMs: number): void {
    if (this.#stopped) return;
    const at = Math.max(Date.now() + delayMs, this.#blockedUntil);
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#run();
    }, at - Date.now());
    this.#refTimer();
  }

  #refTimer(): void {
    if (!this.#timer) return;
    if (this.#holds > 0) this.#timer.ref();
    else this.#timer.unref();
  }

  async #run(): Promise<void> {
    if (this.#running || this.#stopped) return;
    this.#running = true;
    const { queue, breaker, config } = this.#deps;
    try {
      while (queue.length > 0 && !this.#stopped) {
        const wait = this.#blockedUntil - Date.now();
        if (wait > 0) {
          this.#wake(wait);
          break;
        }
        if (!breaker.tryAcquire()) {
          this.#wake(Math.max(1, breaker.msUntilProbe));
          break;
        }
        const batch = queue.take(this.#batchCap ?? config.maxBatchSize, config.maxBatchBytes);
        this.#inFlight = batch.length;
        let outcome: Outcome;
        try {
          outcome = await this.#send(batch);
        } finally {
          this.#inFlight = 0;
        }
        if (this.#stopped) this.#discardAfterStop();
        this.#settle();
        if (outcome === "retry") {
          this.#wake(Math.max(0, this.#blockedUntil - Date.now()));
          break;
        }
      }
    } catch (error) {
      // Nothing above should throw; if it does, delivery must survive it.
      this.#deps.diagnostics.error("delivery loop failed", { error: String(error) });
      this.#wake(this.#deps.config.flushIntervalMs);
    } finally {
      this.#running = false;
      this.#settle();
    }
  }

  async #send(batch: QueuedEvent[]): Promise<Outcome> {
    const { http, breaker, counters, queue } = this.#deps;
    let body = '{"events":[';
    for (let i = 0; i < batch.length; i++)
      body += i === 0 ? (batch[i] as QueuedEvent).json : `,${(batch[i] as QueuedEvent).json}`;
    body += "]}";
    try {
      await http.send({ method: "POST", path: "/v1/events", rawJson: body });
      breaker.onSuccess();
      counters.sent += batch.length;
      counters.settled += batch.length;
      this.#attempt = 0;
      this.#blockedUntil = 0;
      this.#batchCap = undefined;
      return "continue";
    } catch (error) {
      recordOutcome(breaker, error);
      if (isAvailabilityFailure(error) || retryAfterOf(error) !== undefined || isRateLimit(error)) {
        return this.#retryLater(batch, error);
      }
      if (error instanceof PayloadTooLargeError && batch.length > 1) {
        // The hub's body limit is lower than ours: halve the batches and try again at once.
        this.#batchCap = Math.max(1, Math.floor(batch.length / 2));
        this.onDropped(queue.requeue(batch));
        return "continue";
      }
      if (error instanceof ValidationError && batch.length > 1) {
        const bad = refusedIndexes(error);
        if (bad.size > 0 && bad.size < batch.length) {
          const rest = batch.filter((_, i) => !bad.has(i));
          this.#refuse(batch.length - rest.length, error);
          this.onDropped(queue.requeue(rest));
          return "continue";
        }
      }
      this.#refuse(batch.length, error);
      return "continue";
    }
  }

  #retryLater(batch: QueuedEvent[], error: unknown): Outcome {
    const { queue, counters, diagnostics, config, breaker } = this.#deps;
    counters.retried++;
    this.onDropped(queue.requeue(batch));
    const delay = retryDelay(this.#attempt++, config.backoff, retryAfterOf(error));
    this.#blockedUntil = Date.now() + delay;
    diagnostics.report(error, { operation: "flush", events: batch.length, willRetry: true });
    diagnostics.warnRateLimited(
      "hub_unavailable",
      "hub unavailable; events stay queued and will be retried",
      {
        error: error instanceof Error ? error.message : String(error),
        queued: queue.length,
        circuit: breaker.state,
      },
    );
    return "retry";
  }

  /** The hub refused these events: count, report, and move on (a 4xx is not retried). */
  #refuse(count: number, error: unknown): void {
    const { counters, diagnostics } = this.#deps;
    counters.failed += count;
    counters.settled += count;
    diagnostics.report(error, { operation: "flush", events: count });
    diagnostics.warnRateLimited(
      `refused:${error instanceof ChorusError ? error.code : "unknown"}`,
      "the hub refused a batch of events; they were dropped",
      { events: count, error: error instanceof Error ? error.message : String(error) },
    );
  }

  /** Count events the queue bounds pushed out (at enqueue or requeue) and warn, rate-limited. */
  onDropped(dropped: number): void {
    if (dropped === 0) return;
    const { counters, diagnostics, queue } = this.#deps;
    counters.dropped += dropped;
    counters.settled += dropped;
    diagnostics.warnRateLimited("queue_full", "event queue full; dropped the oldest events", {
      dropped: counters.dropped,
      queued: queue.length,
    });
  }

  /** A batch that failed after `stop()` was requeued, but nothing will send it any more. */
  #discardAfterStop(): void {
    const { queue, counters } = this.#deps;
    const left = queue.clear();
    counters.dropped += left;
    counters.settled += left;
  }

  #settle(): void {
    const settled = this.#deps.counters.settled;
    for (const waiter of [...this.#waiters]) if (settled >= waiter.target) waiter.resolve(true);
  }
}

function isRateLimit(error: unknown): boolean {
  return error instanceof ChorusError && error.status === 429;
}

/** Indexes of refused events in a 400 on a batch: `details.problems[].index`. */
function refusedIndexes(error: ValidationError): Set<number> {
  const problems = (error.details as { problems?: unknown } | undefined)?.problems;
  const out = new Set<number>();
  if (!Array.isArray(problems)) return out;
  for (const p of problems) {
    const index = (p as { index?: unknown } | null)?.index;
    if (typeof index === "number" && Number.isInteger(index)) out.add(index);
  }
  return out;
}
