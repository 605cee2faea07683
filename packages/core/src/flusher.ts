import type { PublishResult } from "@chorus/protocol";
import { type BackoffPolicy, retryDelay } from "./backoff.js";
import type { CircuitBreaker } from "./circuit-breaker.js";
import { ChorusError, ConnectionError, PayloadTooLargeError, ValidationError } from "./errors.js";
import type { HttpClient } from "./http.js";
import type { Diagnostics } from "./logger.js";
import type { DeliveryQueue, QueuedEvent } from "./queue.js";
import { classify } from "./classify.js";
import type { Counters } from "./stats.js";
import { recordOutcome } from "./transport.js";
import { invalidEvent } from "./event-builder.js";
import { EventBatchBody } from "./json-batch.js";
import { MAX_TIMER_MS } from "./options.js";
import { holdHost, loadSchemas, type Schemas, type Timer } from "./platform.js";

export interface FlusherConfig {
  /**
   * Linger: a partial batch waits until its oldest event is this old, so a steady stream goes
   * out in full batches instead of whatever queued during the last request. A full batch,
   * `flush()` and `close()` never wait for it.
   */
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
  #timer: Timer | undefined;
  #timerAt = 0;
  #running = false;
  /** The send loop's current run, awaited by {@link stop}. */
  #loop: Promise<void> = Promise.resolve();
  #inFlight = 0;
  #inFlightBytes = 0;
  /** Consecutive failed attempts: the backoff exponent. */
  #attempt = 0;
  /** No attempt before this time (backoff or `Retry-After`). */
  #blockedUntil = 0;
  /**
   * The part of that wait the hub asked for (`Retry-After` of a 429 or 503): `flush()` cuts the
   * client's own backoff short, never this (a rate-limited batch sent again at once is refused
   * again, by a hub that asked for less traffic).
   */
  #retryAfterUntil = 0;
  /** When the oldest event still queued was queued (undefined when the queue is empty). */
  #oldestAt: number | undefined;
  /** Set after a 413: the next batches are at most this big. */
  #batchCap: number | undefined;
  /** Active `flush()` calls; while any is waiting, timers keep the process alive. */
  #holds = 0;
  readonly #waiters = new Set<{
    target: number;
    deadline: number;
    final: boolean;
    resolve: (drained: boolean) => void;
  }>();
  #stopped = false;

  constructor(deps: FlusherDeps) {
    this.#deps = deps;
  }

  /** Events in the queue or in flight. */
  get pending(): number {
    return this.#deps.queue.length + this.#inFlight;
  }

  /** Serialized bytes of the events in the queue or in flight. */
  get pendingBytes(): number {
    return this.#deps.queue.bytes + this.#inFlightBytes;
  }

  /** Called after each enqueue: a full batch goes now, a partial one within the flush interval. */
  notify(): void {
    if (this.#stopped) return;
    const now = Date.now();
    this.#oldestAt ??= now;
    this.#wake(this.#lingerLeft(now), now);
  }

  /** How long the queue's partial batch may still linger (0: send now). */
  #lingerLeft(now: number): number {
    const { queue, config } = this.#deps;
    if (this.#holds > 0 || queue.length >= (this.#batchCap ?? config.maxBatchSize)) return 0;
    return Math.max(0, (this.#oldestAt ?? now) + config.flushIntervalMs - now);
  }

  /**
   * Wait until every event queued before this call has left the queue (delivered, refused or
   * dropped), or `timeoutMs` passes. Resolves `true` when drained, `false` on timeout or as soon
   * as nothing more can be done in time (the next attempt would come after the deadline: a
   * backoff, `Retry-After` or an open circuit). An open circuit and the hub's `Retry-After` are
   * respected (no request storm), but the client's own backoff is cut short: the caller asked.
   *
   * `final` (close and the exit drain): a refused connection ends the wait at once, since
   * nothing listens at the hub's address and the process is about to go.
   */
  flush(timeoutMs: number, final = false): Promise<boolean> {
    // A longer delay fires at once (see MAX_TIMER_MS): `flush(Infinity)` waits the longest.
    timeoutMs = Math.min(MAX_TIMER_MS, Math.max(0, timeoutMs));
    const { counters } = this.#deps;
    const target = counters.enqueued;
    if (counters.settled >= target) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      this.#holds++;
      const waiter = {
        target,
        deadline: Date.now() + timeoutMs,
        final,
        resolve: (drained: boolean) => {
          clearTimeout(timeout);
          this.#waiters.delete(waiter);
          this.#holds--;
          this.#refTimer();
          resolve(drained);
        },
      };
      const timeout = setTimeout(() => waiter.resolve(false), timeoutMs);
      this.#waiters.add(waiter);
      this.#blockedUntil = this.#retryAfterUntil;
      this.#giveUpWaitersBefore(this.#retryAfterUntil);
      this.#wake(0);
      this.#refTimer();
    });
  }

  /**
   * Stop scheduling and abort the request in flight; resolves once the send loop has ended (an
   * aborted batch is then counted as dropped).
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#deps.http.abortAll();
    await this.#loop;
    for (const waiter of [...this.#waiters])
      waiter.resolve(this.#deps.counters.settled >= waiter.target);
  }

  #wake(delayMs: number, now = Date.now()): void {
    if (this.#stopped) return;
    const at = Math.max(now + delayMs, this.#blockedUntil);
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.#running) this.#loop = this.#run();
    }, at - Date.now());
    this.#refTimer();
  }

  #refTimer(): void {
    if (!this.#timer) return;
    holdHost(this.#timer, this.#holds > 0);
  }

  async #run(): Promise<void> {
    if (this.#running || this.#stopped) return;
    this.#running = true;
    const { queue, breaker, config } = this.#deps;
    try {
      while (queue.length > 0 && !this.#stopped) {
        if (this.#blockedUntil > Date.now()) {
          this.#wake(0); // at the end of the wait (see #wake)
          break;
        }
        const linger = this.#lingerLeft(Date.now());
        if (linger > 0) {
          this.#wake(linger);
          break;
        }
        if (!breaker.tryAcquire()) {
          this.#giveUpWaitersBefore(Date.now() + breaker.msUntilProbe);
          this.#wake(Math.max(1, breaker.msUntilProbe));
          break;
        }
        let batch = queue.take(this.#batchCap ?? config.maxBatchSize, config.maxBatchBytes);
        // What stays queued is a backlog older than anything queued from now on.
        if (queue.length === 0) this.#oldestAt = undefined;
        this.#inFlight = batch.length;
        for (const event of batch) this.#inFlightBytes += event.bytes;
        let outcome: Outcome = "continue";
        try {
          if (batch.some((e) => e.unchecked !== undefined)) batch = await this.#check(batch);
          if (batch.length > 0 && !this.#stopped) outcome = await this.#send(batch);
          else {
            breaker.release(); // nothing sent: the slot tryAcquire gave tells nothing about the hub
            if (batch.length > 0) this.#deps.queue.requeue(batch); // stopped: counted as dropped
          }
        } finally {
          this.#landed(); // also when nothing was sent, or the send threw
        }
        if (this.#stopped) this.#discardAfterStop();
        this.#settle();
        if (outcome === "retry") {
          this.#giveUpWaitersBefore(this.#blockedUntil);
          this.#wake(0); // at the end of the wait (see #wake)
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

  /**
   * The schema check of events `emit()` queued before the schemas loaded (browser entry): an
   * invalid one is dropped with the same count, report and warning as `emit()` gives, and the
   * rest of its batch goes out. If the schemas cannot be loaded (a page offline), the batch goes
   * unchecked: the hub validates every event too and refuses only the invalid ones.
   */
  async #check(batch: QueuedEvent[]): Promise<QueuedEvent[]> {
    const { counters, diagnostics } = this.#deps;
    let schemas: Schemas | undefined;
    try {
      schemas = await loadSchemas();
    } catch (error) {
      diagnostics.warnRateLimited(
        "schemas_unavailable",
        "could not load the event schemas; the hub checks these events",
        { error: error instanceof Error ? error.message : String(error) },
      );
    }
    const kept: QueuedEvent[] = [];
    for (const item of batch) {
      const error =
        schemas && item.unchecked !== undefined ? invalidEvent(schemas, item.unchecked) : undefined;
      if (error === undefined) {
        kept.push(item); // checked again if the batch is put back: harmless, and rare
        continue;
      }
      counters.invalid++;
      counters.settled++;
      diagnostics.report(error, { operation: "emit", events: 1 });
      diagnostics.warnRateLimited(
        "invalid_event",
        `emit() dropped an invalid event: ${error.message}`,
      );
    }
    return kept;
  }

  async #send(batch: QueuedEvent[]): Promise<Outcome> {
    const { http, breaker, counters } = this.#deps;
    try {
      const answer = await http.send({
        method: "POST",
        path: "/v1/events",
        rawJson: new EventBatchBody(batch),
        background: true,
      });
      breaker.onSuccess();
      this.#landed();
      // The hub answers a batch with `{ accepted, duplicates, ids }` (`PublishResult`), and its
      // list of ids is what `events.publish` checks too (answer-shape.ts). Anything else came
      // from another server at the URL (a web page, or a proxy's `{}`, `{"status":"ok"}` or
      // error envelope answering 200) that took the batch and stored nothing.
      if (!Array.isArray((answer.body as Partial<PublishResult> | undefined)?.ids)) {
        this.#refuse(
          batch.length,
          new ValidationError(`POST /v1/events answered ${answer.status} with no hub's answer`, {
            status: answer.status,
          }),
        );
        return "continue";
      }
      counters.sent += batch.length;
      counters.settled += batch.length;
      this.#attempt = 0; // `#blockedUntil` is past already: this batch was sent after it
      this.#batchCap = undefined;
      return "continue";
    } catch (error) {
      recordOutcome(breaker, error);
      if (error instanceof ConnectionError && error.reason === "closed") {
        // Aborted by stop(): back to the queue, which stop() then counts as dropped.
        this.#requeue(batch);
        return "continue";
      }
      if (classify(error).retryable) {
        return this.#retryLater(batch, error);
      }
      if (error instanceof PayloadTooLargeError && batch.length > 1) {
        // The hub's body limit is lower than ours: halve the batches and try again at once.
        this.#batchCap = Math.max(1, Math.floor(batch.length / 2));
        this.#requeue(batch);
        return "continue";
      }
      if (error instanceof ValidationError && batch.length > 1) {
        const bad = refusedIndexes(error);
        if (bad.size > 0 && bad.size < batch.length) {
          const rest = batch.filter((_, i) => !bad.has(i));
          this.#refuse(batch.length - rest.length, error);
          this.#requeue(rest);
          return "continue";
        }
      }
      this.#refuse(batch.length, error);
      return "continue";
    }
  }

  #retryLater(batch: QueuedEvent[], error: unknown): Outcome {
    const { queue, counters, diagnostics, config, breaker } = this.#deps;
    if (error instanceof ConnectionError && error.reason === "refused") {
      for (const waiter of [...this.#waiters]) if (waiter.final) waiter.resolve(false);
    }
    counters.retried++;
    this.#requeue(batch);
    const retryAfter = classify(error).retryAfterMs ?? 0;
    const delay = retryDelay(this.#attempt++, config.backoff, retryAfter);
    this.#blockedUntil = Date.now() + delay;
    this.#retryAfterUntil = Date.now() + retryAfter;
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
    this.#landed();
    const { counters, diagnostics } = this.#deps;
    counters.failed += count;
    counters.settled += count;
    diagnostics.report(error, { operation: "flush", events: count });
    // A 404 on POST /v1/events means the URL does not point at the hub's API at all (a path
    // prefix, another server): say so, since flush() still resolves once the queue is empty.
    // So does a 2xx whose body is not the hub's answer.
    const status = error instanceof ChorusError ? error.status : undefined;
    const notHub = status === 404 || (status !== undefined && status < 300);
    diagnostics.warnRateLimited(
      `refused:${error instanceof ChorusError ? error.code : "unknown"}`,
      notHub
        ? `POST ${this.#deps.http.url("/v1/events")} answered ${status}${status === 404 ? "" : " with no hub's answer"}, so ${count} events were dropped: is ${this.#deps.http.baseUrl} the hub's base URL (CHORUS_URL)?`
        : "the hub refused a batch of events; they were dropped",
      { events: count, error: error instanceof Error ? error.message : String(error) },
    );
  }

  /** Put events back at the front; they are overdue, so they never linger again. */
  #requeue(events: QueuedEvent[]): void {
    this.#landed();
    this.#oldestAt = 0;
    this.onDropped(this.#deps.queue.requeue(events));
  }

  /**
   * The batch in flight is back in the queue or settled: it no longer counts as in flight. Done
   * where that happens, not when the send loop moves on, because waiters resolved on the way
   * (a drain given up on a refusing hub) may read `stats()` before the loop does.
   */
  #landed(): void {
    this.#inFlight = 0;
    this.#inFlightBytes = 0;
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

  /** Waiters whose deadline comes before the next possible attempt: nothing more can be done. */
  #giveUpWaitersBefore(nextAttemptAt: number): void {
    const settled = this.#deps.counters.settled;
    for (const waiter of [...this.#waiters])
      if (waiter.deadline < nextAttemptAt) waiter.resolve(settled >= waiter.target);
  }

  #settle(): void {
    const settled = this.#deps.counters.settled;
    for (const waiter of [...this.#waiters]) if (settled >= waiter.target) waiter.resolve(true);
  }
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
