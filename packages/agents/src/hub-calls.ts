import { backoffDelay, type Chorus, classify, type Intent } from "@chorus/core";
import { ErrorCodes } from "@chorus/protocol";

/*
 * Every read and write of the runner goes through the client's strict view (`chorus.strict`):
 * an outage is a `ConnectionError`, never an `undefined` or an empty page to second-guess, and
 * whether waiting may help is core's `classify(error)`. Conflicts are told apart by `code` (the
 * one the hub also uses), so a client from another copy of @chorus/core is understood too.
 */

export function isConflict(error: unknown): boolean {
  return codeOf(error) === ErrorCodes.Conflict;
}

export function isInvalidTransition(error: unknown): boolean {
  return codeOf(error) === ErrorCodes.InvalidTransition;
}

function codeOf(error: unknown): unknown {
  return typeof error === "object" && error !== null
    ? (error as { code?: unknown }).code
    : undefined;
}

/**
 * The answer of a strict call. Only a fail-open client answers `undefined` for an outage, and
 * the strict view throws instead, so this never fires for one; it narrows the type.
 */
export function answered<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what}: the hub gave no answer`);
  return value;
}

/** `intents.get` through the strict view. */
export async function readIntent(chorus: Chorus, id: string): Promise<Intent> {
  return answered(await chorus.strict.intents.get(id), `reading intent ${id}`);
}

/** Waits between attempts while the hub is unavailable: quick for a blip, capped for an outage. */
const UNAVAILABLE_BACKOFF = { baseMs: 200, maxMs: 5000 };

/**
 * Run `fn`, retrying for as long as core's `classify` says waiting may help and `signal` is not
 * aborted: core's jittered backoff, or the hub's `Retry-After`. Any other error is thrown at once.
 */
export async function whileUnavailable<T>(
  fn: () => Promise<T>,
  signal: AbortSignal,
  onRetry?: (error: unknown, attempt: number) => void,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      const { retryable, retryAfterMs } = classify(error);
      if (!retryable || signal.aborted) throw error;
      onRetry?.(error, attempt);
      // Retry-After is the least wait, as in the client: a `0` (or a date already past) from a
      // proxy must not turn the backoff off.
      await sleep(Math.max(retryAfterMs ?? 0, backoffDelay(attempt, UNAVAILABLE_BACKOFF)), signal);
    }
  }
}

/** Resolves after `ms`, or rejects with the abort reason as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * How long a write waits for the events emitted before it to reach the hub: ample for a live
 * hub, short enough that an outage never holds the write hostage (the events stay queued and
 * are delivered later, just out of causal order).
 */
export const DELIVER_BEFORE_WRITE_MS = 2_000;

/**
 * Deliver what this client has emitted (the handler's LLM and tool events) before an intent
 * write, so the hub's seq order is causal: a state change comes after the work that produced
 * it, and an agent reacting to the change can already read that work.
 */
export async function deliverEmitted(chorus: Chorus): Promise<void> {
  await chorus.flush(DELIVER_BEFORE_WRITE_MS);
}
