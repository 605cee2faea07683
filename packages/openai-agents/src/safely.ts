import type { Logger } from "@chorus/core";

/** What the adapter was doing when it caught an error (passed to `onError`). */
export interface AdapterErrorContext {
  /** `"onSpanStart"`, `"onSpanEnd"`, `"hook.agent_tool_start"`, `"instrument"`, … */
  operation: string;
  [key: string]: unknown;
}

export type AdapterOnError = (error: unknown, context: AdapterErrorContext) => void;

/** Distinct operations we warn about once each; beyond this we stop remembering (and stop warning). */
const MAX_WARNED_OPERATIONS = 100;

/**
 * The one error idiom of this package. The SDK awaits processor methods on the run's path and
 * calls hook listeners synchronously, so anything we throw would reject the user's run. Every
 * entry point therefore goes through `guard(...)`, which turns a throw into a report and a
 * fallback value. Reports go to `onError` (an error thrown there is swallowed too) and to the
 * logger, once per operation so a bug in a hot path cannot flood the logs.
 */
export class Safely {
  readonly #logger: Logger;
  readonly #onError: AdapterOnError | undefined;
  readonly #warned = new Set<string>();
  /** Errors caught so far; tests and `stats` read it. */
  errors = 0;

  constructor(logger: Logger, onError: AdapterOnError | undefined) {
    this.#logger = logger;
    this.#onError = onError;
  }

  /** Run `fn`; on a throw, report it and return `fallback`. Never throws. */
  guard<T>(operation: string, fn: () => T, fallback: T): T {
    try {
      return fn();
    } catch (error) {
      this.report(error, { operation });
      return fallback;
    }
  }

  /** Report an error swallowed on the framework's path. Never throws. */
  report(error: unknown, context: AdapterErrorContext): void {
    this.errors++;
    try {
      this.#onError?.(error, context);
    } catch {
      // An onError that throws must not become the failure it reports.
    }
    try {
      if (this.#warned.has(context.operation) || this.#warned.size >= MAX_WARNED_OPERATIONS) {
        this.#logger.debug(`openai-agents: ${context.operation} failed: ${describe(error)}`);
        return;
      }
      this.#warned.add(context.operation);
      this.#logger.warn(
        `openai-agents: ${context.operation} failed (the run is unaffected): ${describe(error)}`,
      );
    } catch {
      // A logger that throws is ignored for the same reason.
    }
  }
}

function describe(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error);
  } catch {
    return "unknown error";
  }
}
