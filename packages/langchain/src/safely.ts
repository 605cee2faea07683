import { createConsoleLogger, type ErrorContext, type Logger, type OnError } from "@chorus/core";

/**
 * One warning per this many ms at most: a mapping bug hit on every callback must not flood the
 * user's logs (`onError` still sees every occurrence).
 */
export const WARN_INTERVAL_MS = 30_000;

/**
 * Where the adapter's own failures go: the user's `onError` (every time) and the logger (rate
 * limited). Nothing here throws, not even a throwing `onError` or logger, because a diagnostic
 * must never become the failure it reports.
 */
export class Reporter {
  readonly #onError: OnError | undefined;
  readonly #logger: Logger | undefined;
  #lastWarnAt = Number.NEGATIVE_INFINITY;
  #suppressed = 0;

  constructor(onError: OnError | undefined, logger: Logger | false | undefined) {
    this.#onError = onError;
    this.#logger = logger === false ? undefined : (logger ?? createConsoleLogger("warn"));
  }

  report(error: unknown, context: ErrorContext): void {
    if (this.#onError) {
      const onError = this.#onError;
      ignoreThrows(() => onError(error, context));
    }
    const now = Date.now();
    if (now - this.#lastWarnAt < WARN_INTERVAL_MS) {
      this.#suppressed++;
      return;
    }
    this.#lastWarnAt = now;
    const suppressed = this.#suppressed;
    this.#suppressed = 0;
    const logger = this.#logger;
    if (!logger) return;
    ignoreThrows(() =>
      logger.warn(`@chorus/langchain: ${context.operation} failed; LangChain is unaffected`, {
        error: describe(error),
        ...(suppressed > 0 ? { suppressed } : {}),
      }),
    );
  }
}

/**
 * The one guard of this package. Runs `fn`; anything it throws (or a promise it rejects with) is
 * reported and `fallback` is returned instead. Every LangChain callback enters through here, and
 * so does every extraction that could trip on a hostile payload.
 */
export function safely<T>(reporter: Reporter, operation: string, fn: () => T, fallback: T): T {
  try {
    const result = fn();
    if (isThenable(result)) {
      // Nothing on our path is async; if something ever is, its rejection must not go unhandled.
      (result as unknown as Promise<unknown>).then(undefined, (error: unknown) =>
        reporter.report(error, { operation }),
      );
    }
    return result;
  } catch (error) {
    reporter.report(error, { operation });
    return fallback;
  }
}

function ignoreThrows(fn: () => unknown): void {
  try {
    const result = fn();
    if (isThenable(result)) (result as Promise<unknown>).then(undefined, () => {});
  } catch {
    // swallowed on purpose: see Reporter
  }
}

function isThenable(value: unknown): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

function describe(error: unknown): string {
  try {
    return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  } catch {
    return "unknown error";
  }
}
