import type { Logger } from "@chorus/core";

/** What the adapter was doing when it caught an error of its own: `"llm.end"`, `"tool.start"`, … */
export interface AdapterErrorContext {
  operation: string;
  [key: string]: unknown;
}

export type AdapterOnError = (error: unknown, context: AdapterErrorContext) => void;

/**
 * Runs one step of instrumentation and returns its result, or `undefined` if it threw. The
 * single guard of this package: every hook the SDK can reach goes through one, so a bug in our
 * mapping, a hostile payload or a broken client can never throw into the SDK or change what
 * the caller gets.
 */
export type Safely = <T>(operation: string, fn: () => T) => T | undefined;

/**
 * Build the guard for one wrapped client. Errors go to `onError` (an error thrown by `onError`
 * is swallowed too) and to the logger, once per operation: a mapping bug would otherwise log on
 * every call, and the set of operation names is small and fixed, so the memory is bounded.
 */
export function createSafely(
  onError: AdapterOnError | undefined,
  logger: Logger | undefined,
): Safely {
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
        logger.warn(`@chorus/otel: ${operation} failed; the call goes on without it`, {
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
