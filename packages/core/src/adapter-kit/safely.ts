import type { Logger } from "../logger.js";

/** What the adapter was doing when it caught an error of its own: `"llm.end"`, `"tool.start"`, … */
export interface AdapterErrorContext {
  operation: string;
  [key: string]: unknown;
}

export type AdapterOnError = (error: unknown, context: AdapterErrorContext) => void;

/**
 * Runs one step of instrumentation and returns its result, or `undefined` if it threw. The one
 * guard of an adapter: every hook a framework can reach goes through one, so a bug in the
 * mapping, a hostile payload or a broken client can never throw into the framework or change
 * what the caller gets.
 */
export interface Safely {
  <T>(operation: string, fn: () => T): T | undefined;
  /** Report an error caught elsewhere on the framework's path (a rejected promise, say). Never throws. */
  report(error: unknown, context: AdapterErrorContext): void;
}

/** Distinct operations warned about once each; past this they are no longer remembered, only logged at debug. */
const MAX_WARNED_OPERATIONS = 100;

export interface SafelyOptions {
  /** The adapter's package name, at the start of each warning: `"@chorus/anthropic"`. */
  name: string;
  onError?: AdapterOnError | undefined;
  logger?: Logger | undefined;
}

/**
 * Build the guard of one adapter instance. Errors go to `onError` (an error thrown by `onError`
 * is swallowed too) and to the logger: a warning once per operation, then debug lines, so a
 * mapping bug in a hot path cannot flood the logs; at most {@link MAX_WARNED_OPERATIONS} names
 * are remembered.
 *
 * @example
 * const safely = createSafely({ name: "@chorus/my-adapter", onError, logger });
 * safely("llm.end", () => chorus.emit(toEvent(response)));
 */
export function createSafely(options: SafelyOptions): Safely {
  const { name, onError, logger } = options;
  const warned = new Set<string>();
  const report = (error: unknown, context: AdapterErrorContext): void => {
    // onError is the user's code; it must not become the failure it reports, not even by
    // returning a promise that rejects (an `async` onError).
    ignoreFailure(() => onError?.(error, context));
    if (!logger) return;
    const { operation } = context;
    try {
      if (warned.has(operation) || warned.size >= MAX_WARNED_OPERATIONS) {
        logger.debug(`${name}: ${operation} failed: ${describe(error)}`);
        return;
      }
      warned.add(operation);
      logger.warn(`${name}: ${operation} failed; the call goes on without it`, {
        error: describe(error),
      });
    } catch {
      // a broken logger is no reason to break the caller either
    }
  };
  const guard = <T>(operation: string, fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (error) {
      report(error, { operation });
      return undefined;
    }
  };
  return Object.assign(guard, { report });
}

function ignoreFailure(fn: () => unknown): void {
  try {
    const result = fn();
    if (isThenable(result)) result.then(undefined, () => {});
  } catch {
    // swallowed on purpose: see report()
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  try {
    return (
      typeof value === "object" &&
      value !== null &&
      typeof (value as { then?: unknown }).then === "function"
    );
  } catch {
    return false;
  }
}

function describe(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error);
  } catch {
    return "unknown error";
  }
}
