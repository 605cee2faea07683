import { type Chorus, ConnectionError, type Intent } from "@chorus/core";
import { ErrorCodes } from "@chorus/protocol";

/*
 * Errors are told apart by their `code` (the one the hub also uses) rather than `instanceof`,
 * so a client from another copy of @chorus/core (ESM next to CJS) is understood too.
 */

/** The hub is down, overloaded or failing: waiting may help. */
export function isAvailabilityError(error: unknown): boolean {
  const code = codeOf(error);
  return (
    code === ErrorCodes.Unavailable ||
    code === ErrorCodes.RateLimited ||
    code === ErrorCodes.Internal
  );
}

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

/** A fail-open client answers `undefined` when the hub is unreachable; the runner needs to know. */
export function unavailable(what: string): ConnectionError {
  return new ConnectionError(`${what}: the hub did not answer (fail-open client)`, {
    reason: "unavailable",
  });
}

/** `intents.get` that throws instead of resolving `undefined` when the hub could not be reached. */
export async function readIntent(chorus: Chorus, id: string): Promise<Intent> {
  const intent = await chorus.intents.get(id);
  if (!intent) throw unavailable(`reading intent ${id}`);
  return intent;
}

/** Waits between attempts while the hub is unavailable: quick for a blip, capped for an outage. */
const UNAVAILABLE_BACKOFF = { baseMs: 200, maxMs: 5000 };

/**
 * Run `fn`, retrying with jittered backoff for as long as the hub is unavailable and `signal`
 * is not aborted. Any other error is thrown at once.
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
      if (!isAvailabilityError(error) || signal.aborted) throw error;
      onRetry?.(error, attempt);
      const cap = Math.min(UNAVAILABLE_BACKOFF.maxMs, UNAVAILABLE_BACKOFF.baseMs * 2 ** attempt);
      await sleep(cap / 2 + Math.random() * (cap / 2), signal);
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
