/** Where the client's diagnostics go. Compatible with `console`, pino and winston. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

/** Every level, quietest last: a level's index is its rank. */
export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error", "silent"];

/** The default logger: one line per message on stderr, prefixed `[chorus]`, from `level` up. */
export function createConsoleLogger(level: LogLevel = "warn"): Logger {
  const min = LOG_LEVELS.indexOf(level);
  const logger = {} as Logger;
  for (let rank = 0; rank < 4; rank++) {
    const at = LOG_LEVELS[rank] as keyof Logger;
    logger[at] = (message, fields) => {
      if (rank < (min < 0 ? 2 : min)) return;
      const line =
        fields && Object.keys(fields).length > 0
          ? `[chorus] ${message} ${safeJson(fields)}`
          : `[chorus] ${message}`;
      // The one place the client writes to the console.
      (at === "error" ? console.error : console.warn)(line);
    };
  }
  return logger;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** What the client was doing when an error reached `onError`. */
export interface ErrorContext {
  /** `"emit"`, `"flush"`, `"events.publish"`, `"intents.get"`, `"realtime.callback"`, ... */
  operation: string;
  /** Events affected (a dropped batch, an invalid event). */
  events?: number;
  [key: string]: unknown;
}

export type OnError = (error: unknown, context: ErrorContext) => void;

/**
 * Diagnostics for one client: the logger, `onError`, and rate limiting of repeated warnings.
 * Nothing here throws: a logger or `onError` that throws is swallowed, because a diagnostic must
 * never become the failure it reports.
 */
export class Diagnostics {
  readonly #logger: Logger;
  readonly #onError: OnError | undefined;
  readonly #intervalMs: number;
  readonly #lastWarned = new Map<string, { at: number; suppressed: number }>();

  constructor(logger: Logger, onError: OnError | undefined, intervalMs: number) {
    this.#logger = logger;
    this.#onError = onError;
    this.#intervalMs = intervalMs;
  }

  get logger(): Logger {
    return this.#logger;
  }

  debug(message: string, fields?: Record<string, unknown>): void {
    guard(() => this.#logger.debug(message, fields));
  }

  warn(message: string, fields?: Record<string, unknown>): void {
    guard(() => this.#logger.warn(message, fields));
  }

  error(message: string, fields?: Record<string, unknown>): void {
    guard(() => this.#logger.error(message, fields));
  }

  /**
   * Warn at most once per interval for `key`; the next warning says how many were suppressed.
   * Keys are a small fixed set (one per kind of problem), so the map stays tiny.
   */
  warnRateLimited(key: string, message: string, fields: Record<string, unknown> = {}): void {
    const now = Date.now();
    const entry = this.#lastWarned.get(key);
    if (entry && now - entry.at < this.#intervalMs) {
      entry.suppressed++;
      return;
    }
    const suppressed = entry?.suppressed ?? 0;
    this.#lastWarned.set(key, { at: now, suppressed: 0 });
    this.warn(message, suppressed > 0 ? { ...fields, suppressed } : fields);
  }

  /** Hand an error to `onError` (if any). Never throws. */
  report(error: unknown, context: ErrorContext): void {
    if (!this.#onError) return;
    const onError = this.#onError;
    guard(() => onError(error, context));
  }
}

function guard(fn: () => unknown): void {
  try {
    const result = fn();
    // An async onError or logger that rejects must not become an unhandled rejection.
    if (result && typeof (result as Promise<unknown>).catch === "function") {
      (result as Promise<unknown>).catch(() => {});
    }
  } catch {
    // swallowed on purpose: see Diagnostics
  }
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v) =>
      typeof v === "bigint" ? v.toString() : v instanceof Error ? v.message : v,
    );
  } catch {
    return "[unserializable fields]";
  }
}
