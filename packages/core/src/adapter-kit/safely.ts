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
export type Safely = <T>(operation: string, fn: () => T) => T | undefined;

export interface SafelyOptions {
  /** The adapter's package name, at the start of each warning: `"@chorus/anthropic"`. */
  name: string;
  onError?: AdapterOnError | undefined;
  logger?: Logger | undefined;
}

/**
 * Build the guard of one adapter instance. Errors go to `onError` (an error thrown by `onError`
 * is swallowed too) and to the logger once per operation: a mapping bug would otherwise log on
 * every call, and the set of operation names is small and fixed, so the memory is bounded.
 *
 * @example
 * const safely = createSafely({ name: "@chorus/my-adapter", onError, logger });
 * safely("llm.end", () => chorus.emit(toEvent(response)));
 */
export function createSafely(options: SafelyOptions): Safely {
  const { name, onError, logger } = options;
  const warned = new Set<string>();
  const report = (error: unknown, operation: string): void => {
    try {
      onError?.(error, { operation });
    } catch {
      // onError is the user's code; it must not become the failure it reports.
    }
    if (logger && !warned.has(operation)) {
      warned.add(operation);
      try {
        logger.warn(`${name}: ${operation} failed; the call goes on without it`, {
          error: describe(error),
        });
      } catch {
        // a broken logger is no reason to break the caller either
      }
    }
  };
  return <T>(operation: string, fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (error) {
      report(error, operation);
      return undefined;
    }
  };
}

function describe(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error);
  } catch {
    return "unknown error";
  }
}
