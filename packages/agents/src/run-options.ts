import { Diagnostics, resolveAdapterLogger } from "@chorus/core/adapter-kit";
import type { Chorus, ChorusEvent, Logger } from "@chorus/core";
import type { AgentDefinition } from "./definition.js";
import type { AgentLifecycleEvents, LifecycleListener } from "./lifecycle.js";
import { DEFAULT_MAX_PATCH_ATTEMPTS } from "./patch.js";

/** Intents handled at once unless the agent or `runAgent` says otherwise. */
export const DEFAULT_CONCURRENCY = 4;
/** How long `runAgent` waits for the stream to open and the catch-up list before rejecting. */
export const DEFAULT_STARTUP_TIMEOUT_MS = 30_000;

/** The interval of repeated warnings when the client does not say (core's `warnIntervalMs` default). */
const DEFAULT_WARN_INTERVAL_MS = 30_000;

/** Where a failure happened, for `onError`. */
export type AgentErrorPhase = "handler" | "patch" | "event" | "stream" | "catch_up";

export interface AgentErrorContext {
  agent: string;
  phase: AgentErrorPhase;
  intentId?: string;
  /** Name of the handler (method name, or function name in `defineAgent`). */
  handler?: string;
  event?: ChorusEvent;
}

export interface RunAgentOptions {
  /**
   * The client to read, write and stream with. Fail-open or not, the runner reads and writes
   * through its strict view (`chorus.strict`), so an outage is waited out, never read as data.
   */
  chorus: Chorus;
  /** Intents handled at once; events of one intent are always handled one at a time, in order. */
  concurrency?: number;
  /**
   * Resume after this seq (a previous runner's `lastSeq`): every event of the agent's stream
   * after it is handled, and there is no catch-up, unless the hub's retention deleted events
   * after it (then every intent held gets a catch-up `onAssignment`). Without it the runner
   * starts live and calls `onAssignment` once for each intent it already holds.
   */
  after?: number;
  /**
   * The hub store's epoch `after` counts in (the previous runner's `epoch`, stored with its
   * `lastSeq`). When the hub's store is another one (an in-memory hub restarted), the runner
   * handles the new store's events from its start instead of skipping them up to `after`.
   * Ignored without `after`.
   */
  epoch?: string;
  /** Writes of a returned patch tried before reporting a conflict (default 5). */
  maxPatchAttempts?: number;
  /** Called for every handler error, failed write, unreadable event or stream refusal. Errors it throws are ignored. */
  onError?: (error: unknown, context: AgentErrorContext) => void;
  /** Diagnostics; `false` silences them. Defaults to the console at warn level. */
  logger?: Logger | false;
  /** See {@link DEFAULT_STARTUP_TIMEOUT_MS}. */
  startupTimeoutMs?: number;
  /**
   * Lifecycle listeners registered before the runner starts: the only way to see `started` (and
   * catch-up `assigned` events), which fire before `runAgent` resolves.
   */
  on?: { [K in keyof AgentLifecycleEvents]?: LifecycleListener<K> };
}

export interface ResolvedRunOptions {
  chorus: Chorus;
  logger: Logger;
  onError: RunAgentOptions["onError"];
  after: number | undefined;
  epoch: string | undefined;
  concurrency: number;
  maxPatchAttempts: number;
  startupTimeoutMs: number;
}

/** `runAgent` options over `@agent` options over defaults; a bad value throws here, before anything starts. */
export function resolveRunOptions(
  definition: AgentDefinition,
  options: RunAgentOptions,
): ResolvedRunOptions {
  if (!options || typeof options.chorus !== "object" || options.chorus === null) {
    throw new TypeError("runAgent needs { chorus }: a Chorus client");
  }
  const agentOptions = definition.options;
  return {
    chorus: options.chorus,
    logger: rateLimitWarnings(
      resolveAdapterLogger(options.logger, undefined),
      options.chorus.options?.warnIntervalMs ?? DEFAULT_WARN_INTERVAL_MS,
    ),
    onError: options.onError,
    after: checkAfter(options.after),
    epoch: options.after === undefined ? undefined : checkEpoch(options.epoch),
    concurrency: positive(
      options.concurrency ?? agentOptions.concurrency ?? DEFAULT_CONCURRENCY,
      "concurrency",
    ),
    maxPatchAttempts: positive(
      options.maxPatchAttempts ?? agentOptions.maxPatchAttempts ?? DEFAULT_MAX_PATCH_ATTEMPTS,
      "maxPatchAttempts",
    ),
    startupTimeoutMs: positive(
      options.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS,
      "startupTimeoutMs",
    ),
  };
}

function checkAfter(after: number | undefined): number | undefined {
  if (after === undefined) return undefined;
  if (!Number.isInteger(after) || after < 0)
    throw new TypeError("after must be a seq (a non-negative integer)");
  return after;
}

function checkEpoch(epoch: string | undefined): string | undefined {
  if (epoch !== undefined && (typeof epoch !== "string" || epoch === ""))
    throw new TypeError("epoch must be the store epoch of `after` (a runner's `epoch`)");
  return epoch;
}

function positive(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1)
    throw new TypeError(`${name} must be a positive integer`);
  return value;
}

/**
 * The runner's logger, its warnings rate-limited per message: the per-event ones (a malformed or
 * stale event from the hub, a handler returning a string for every event, retries through an
 * outage) are logged at most once per the client's `warnIntervalMs` each, the next one saying
 * how many were suppressed. Errors (a handler that threw) are all logged.
 */
function rateLimitWarnings(logger: Logger, intervalMs: number): Logger {
  const diagnostics = new Diagnostics(logger, undefined, intervalMs);
  return {
    debug: (message, fields) => logger.debug(message, fields),
    info: (message, fields) => logger.info(message, fields),
    warn: (message, fields) => diagnostics.warnRateLimited(message, message, fields),
    error: (message, fields) => logger.error(message, fields),
  };
}
