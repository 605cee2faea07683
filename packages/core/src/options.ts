import { MAX_BATCH_EVENTS, MAX_BODY_BYTES } from "@chorus/protocol/wire";
import type { CaptureMode } from "./capture.js";
import { DEFAULT_MAX_STRING_LENGTH } from "./capture-rules.js";
import { LOG_LEVELS, type Logger, type LogLevel, type OnError } from "./logger.js";
import { DEFAULT_REALTIME_TRANSPORT, environment, severalHubs } from "./platform.js";

/** A `fetch` compatible with the global one (a proxy-aware or instrumented fetch, in tests a counting one). */
export type FetchFunction = (input: string | URL, init?: RequestInit) => Promise<Response>;

/**
 * Options of {@link Chorus}. Every option except the functions can also be set through a
 * `CHORUS_*` environment variable (named in each option's doc); an explicit option wins.
 */
export interface ChorusOptions {
  /**
   * Hub base URL; in Node also several hubs of one cluster (a list, or one string with
   * commas), which the client fails over between. `CHORUS_URL` (comma-separated for several);
   * default `http://127.0.0.1:7420`.
   */
  url?: string | readonly string[];
  /** API key sent as `Authorization: Bearer`. `CHORUS_API_KEY`. */
  apiKey?: string;
  /**
   * `true` (default): availability failures never throw; awaitable calls return `undefined` or
   * an empty page and log a warning. `false`: they throw `ConnectionError`. `CHORUS_FAIL_OPEN`.
   */
  failOpen?: boolean;
  /** `false` turns `emit()` into a no-op (nothing queued or sent). `CHORUS_ENABLED`; default `true`. */
  enabled?: boolean;
  /** Timeout of every HTTP request, in ms. `CHORUS_TIMEOUT_MS`; default 10000. */
  timeoutMs?: number;
  /** Channel of events that name none. `CHORUS_CHANNEL`; default `"default"`. */
  channel?: string;
  /** Environment of events that name none. `CHORUS_ENV`; the hub's default is `"default"`. */
  env?: string;
  /** App of events that name none. `CHORUS_APP`. */
  app?: string;
  /** Agent of events that name none (after the trace context's agent). `CHORUS_AGENT`. */
  agent?: string;
  /** `"full"` (default) or `"metadata"`, which drops prompt and completion text. `CHORUS_CAPTURE`. */
  capture?: CaptureMode;
  /** Strings in payload and metadata are cut at this length. `CHORUS_MAX_STRING_LENGTH`; default 4096. */
  maxStringLength?: number;
  /** How long a partial batch lingers for more events, in ms (a full batch, `flush()` and `close()` never wait). `CHORUS_FLUSH_INTERVAL_MS`; default 200. */
  flushIntervalMs?: number;
  /** Events per request (at most 1000). `CHORUS_MAX_BATCH_SIZE`; default 500. */
  maxBatchSize?: number;
  /** Events the queue holds before dropping the oldest. `CHORUS_MAX_QUEUE_SIZE`; default 10000. */
  maxQueueSize?: number;
  /** Serialized bytes the queue holds before dropping the oldest. `CHORUS_MAX_QUEUE_BYTES`; default 16 MiB. */
  maxQueueBytes?: number;
  /** Retries of an awaitable call (`events.*`, `intents.*`). `CHORUS_MAX_RETRIES`; default 2. */
  maxRetries?: number;
  /** First backoff delay, in ms. `CHORUS_RETRY_BASE_DELAY_MS`; default 250. */
  retryBaseDelayMs?: number;
  /** Longest backoff delay, in ms. `CHORUS_RETRY_MAX_DELAY_MS`; default 30000. */
  retryMaxDelayMs?: number;
  /** Consecutive availability failures that open the circuit. `CHORUS_CIRCUIT_FAILURE_THRESHOLD`; default 5. */
  circuitFailureThreshold?: number;
  /** First open period of the circuit, in ms. `CHORUS_CIRCUIT_COOLDOWN_MS`; default 1000. */
  circuitCooldownMs?: number;
  /** Longest open period of the circuit, in ms. `CHORUS_CIRCUIT_MAX_COOLDOWN_MS`; default 30000. */
  circuitMaxCooldownMs?: number;
  /** Drain the queue on `beforeExit`. `CHORUS_DRAIN_ON_EXIT`; default `true`. */
  drainOnExit?: boolean;
  /** How long the exit drain may keep the process alive, in ms. `CHORUS_DRAIN_TIMEOUT_MS`; default 2000. */
  drainTimeoutMs?: number;
  /** A repeated warning (drops, hub down) is logged at most once per this many ms. `CHORUS_WARN_INTERVAL_MS`; default 30000. */
  warnIntervalMs?: number;
  /** Level of the default logger. `CHORUS_LOG_LEVEL`; default `"warn"`. */
  logLevel?: LogLevel;
  /** Where diagnostics go; `false` silences them. Default: `[chorus]` lines on stderr. */
  logger?: Logger | false;
  /** Called with every error the client swallows. An error thrown here is swallowed too. */
  onError?: OnError;
  /** `fetch` used for every HTTP request and SSE stream. Default: the global `fetch`. */
  fetch?: FetchFunction;
  /** Realtime over `"tcp"` (mqtt://, default) or `"ws"` (WebSocket on the HTTP port). `CHORUS_REALTIME_TRANSPORT`. */
  realtimeTransport?: "tcp" | "ws";
  /** Lifetime asked for realtime credentials, in s (the hub caps it). `CHORUS_REALTIME_TTL_SECONDS`. */
  realtimeTtlSeconds?: number;
  /** Realtime publishes held while disconnected before the oldest is dropped. `CHORUS_REALTIME_MAX_BUFFERED`; default 1000. */
  realtimeMaxBuffered?: number;
  /**
   * An SSE stream that receives nothing for this long (the hub pings an idle stream every 15 s)
   * is taken for dead (a half-open connection) and reconnected, resuming from its last seq.
   * `CHORUS_STREAM_IDLE_TIMEOUT_MS`; default 45000.
   */
  streamIdleTimeoutMs?: number;
}

/** Options after defaults and environment: what the client runs with. */
export interface ResolvedOptions {
  /** The hub URL, or the hubs' URLs joined with commas. */
  url: string;
  apiKey: string | undefined;
  failOpen: boolean;
  enabled: boolean;
  timeoutMs: number;
  channel: string;
  env: string | undefined;
  app: string | undefined;
  agent: string | undefined;
  capture: CaptureMode;
  maxStringLength: number;
  flushIntervalMs: number;
  maxBatchSize: number;
  maxBatchBytes: number;
  maxQueueSize: number;
  maxQueueBytes: number;
  maxRetries: number;
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  circuitFailureThreshold: number;
  circuitCooldownMs: number;
  circuitMaxCooldownMs: number;
  drainOnExit: boolean;
  drainTimeoutMs: number;
  warnIntervalMs: number;
  logLevel: LogLevel;
  realtimeTransport: "tcp" | "ws";
  realtimeTtlSeconds: number | undefined;
  realtimeMaxBuffered: number;
  streamIdleTimeoutMs: number;
}

export const DEFAULT_URL = "http://127.0.0.1:7420";

/**
 * The hub's base URL from what a user wrote: trailing slashes and a trailing `/v1` go (the
 * hub prints its API as `…/v1`, and the client adds `/v1/…` to every path itself, so
 * `http://host:7420/v1` would otherwise ask for `/v1/v1/events`). `undefined` when `url` is
 * not an http(s) URL, e.g. `127.0.0.1:7420` without a scheme.
 *
 * @example
 * hubBaseUrl("http://127.0.0.1:7420/v1/"); // "http://127.0.0.1:7420"
 */
export function hubBaseUrl(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    return undefined;
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return undefined;
  return url.trim().replace(/\/+$/, "").replace(/\/v1$/, "").replace(/\/+$/, "");
}
export const DEFAULT_CHANNEL = "default";
/** Ten seconds: longer than any healthy hub answer, short enough that a hung hub is noticed. */
export const DEFAULT_TIMEOUT_MS = 10_000;
/**
 * The longest delay a timer takes (2^31-1 ms, about 24.8 days): `setTimeout` and
 * `AbortSignal.timeout` fire a longer one after 1 ms. Every numeric option is capped at it (a
 * larger timeout means "no timeout" in effect; no count or size option comes near it), as are
 * the timeouts of `flush()` and `close()`.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;
/**
 * Linger of 200 ms: a realtime bus must show an event within a blink, and at a steady
 * 1,000 ev/s a batch then carries ~200 events, so the per-request cost is paid once per 200
 * events instead of once per the ~10 that queue during one request.
 */
export const DEFAULT_FLUSH_INTERVAL_MS = 200;
export const DEFAULT_MAX_BATCH_SIZE = 500;
/** Ten thousand events (a few MB) ride out minutes of outage for a busy agent. */
export const DEFAULT_MAX_QUEUE_SIZE = 10_000;
export const DEFAULT_MAX_QUEUE_BYTES = 16 * 1024 * 1024;
/** Request body budget of one batch: under the hub's limit with room for the envelope. */
export const MAX_BATCH_BYTES = MAX_BODY_BYTES - 64 * 1024;

type NumericKey = {
  [K in keyof ResolvedOptions]: ResolvedOptions[K] extends number ? K : never;
}[keyof ResolvedOptions];

/** A numeric option's spec; its variable is `CHORUS_` and its name in capitals ({@link envName}). */
interface NumberSpec {
  fallback: number;
  min: number;
  max?: number;
}

const NUMBERS: Record<Exclude<NumericKey, "maxBatchBytes">, NumberSpec> = {
  timeoutMs: { fallback: DEFAULT_TIMEOUT_MS, min: 1 },
  maxStringLength: {
    fallback: DEFAULT_MAX_STRING_LENGTH,
    min: 16,
  },
  flushIntervalMs: { fallback: DEFAULT_FLUSH_INTERVAL_MS, min: 1 },
  maxBatchSize: {
    fallback: DEFAULT_MAX_BATCH_SIZE,
    min: 1,
    max: MAX_BATCH_EVENTS,
  },
  maxQueueSize: { fallback: DEFAULT_MAX_QUEUE_SIZE, min: 1 },
  maxQueueBytes: { fallback: DEFAULT_MAX_QUEUE_BYTES, min: 1024 },
  maxRetries: { fallback: 2, min: 0, max: 20 },
  retryBaseDelayMs: { fallback: 250, min: 1 },
  retryMaxDelayMs: { fallback: 30_000, min: 1 },
  circuitFailureThreshold: { fallback: 5, min: 1 },
  circuitCooldownMs: { fallback: 1000, min: 1 },
  circuitMaxCooldownMs: { fallback: 30_000, min: 1 },
  drainTimeoutMs: { fallback: 2000, min: 0 },
  warnIntervalMs: { fallback: 30_000, min: 0 },
  realtimeMaxBuffered: { fallback: 1000, min: 0 },
  // Three of the hub's 15 s pings (`SSE_PING_INTERVAL_MS`): see `EventStream`'s watchdog.
  streamIdleTimeoutMs: { fallback: 45_000, min: 1 },
};

/** `maxQueueSize` → `CHORUS_MAX_QUEUE_SIZE`. */
function envName(key: string): string {
  return `CHORUS_${key.replace(/[A-Z]/g, "_$&").toUpperCase()}`;
}

/**
 * Merge explicit options over `CHORUS_*` variables over defaults. Never throws: a bad value is
 * replaced by its default and reported in `problems`, because a typo in an env var must not take
 * the user's application down.
 */
export function resolveOptions(
  options: ChorusOptions = {},
  env: Record<string, string | undefined> = environment(),
): { options: ResolvedOptions; problems: string[] } {
  const problems: string[] = [];
  const str = (value: string | undefined, name: string): string | undefined =>
    value !== undefined && value !== "" ? value : nonEmpty(env[name]);

  const bool = (value: boolean | undefined, name: string, fallback: boolean): boolean => {
    if (typeof value === "boolean") return value;
    const raw = nonEmpty(env[name])?.toLowerCase();
    if (raw === undefined) return fallback;
    if (["1", "true", "yes", "on"].includes(raw)) return true;
    if (["0", "false", "no", "off"].includes(raw)) return false;
    problems.push(`${name}="${raw}" is not a boolean; using ${fallback}`);
    return fallback;
  };

  const numbers = {} as Record<keyof typeof NUMBERS, number>;
  for (const [key, spec] of Object.entries(NUMBERS) as [keyof typeof NUMBERS, NumberSpec][]) {
    const explicit = options[key];
    const name = envName(key);
    const raw = explicit ?? nonEmpty(env[name]);
    let value = spec.fallback;
    if (raw !== undefined) {
      const n = typeof raw === "number" ? raw : Number(raw);
      if (Number.isFinite(n) && n >= spec.min) value = Math.min(spec.max ?? MAX_TIMER_MS, n);
      else
        problems.push(
          `${explicit !== undefined ? key : name}=${raw} is invalid; using ${spec.fallback}`,
        );
    }
    numbers[key] = value;
  }

  const rawUrl = str(options.url as string | undefined, "CHORUS_URL") ?? DEFAULT_URL;
  let url = (severalHubs?.url ?? hubBaseUrl)(rawUrl);
  if (url === undefined) {
    problems.push(`url "${rawUrl}" is invalid; using "${DEFAULT_URL}"`);
    url = DEFAULT_URL;
  }

  const captureRaw = options.capture ?? nonEmpty(env.CHORUS_CAPTURE);
  let capture: CaptureMode = "full";
  if (captureRaw === "full" || captureRaw === "metadata") capture = captureRaw;
  else if (captureRaw !== undefined)
    problems.push(`capture "${captureRaw}" is invalid; using "full"`);

  const levelRaw = options.logLevel ?? nonEmpty(env.CHORUS_LOG_LEVEL);
  let logLevel: LogLevel = "warn";
  if (levelRaw !== undefined && (LOG_LEVELS as readonly string[]).includes(levelRaw))
    logLevel = levelRaw as LogLevel;
  else if (levelRaw !== undefined) problems.push(`logLevel "${levelRaw}" is invalid; using "warn"`);

  const transportRaw = options.realtimeTransport ?? nonEmpty(env.CHORUS_REALTIME_TRANSPORT);
  let realtimeTransport: "tcp" | "ws" = DEFAULT_REALTIME_TRANSPORT;
  if (transportRaw === "tcp" || transportRaw === "ws") realtimeTransport = transportRaw;
  else if (transportRaw !== undefined)
    problems.push(
      `realtimeTransport "${transportRaw}" is invalid; using "${DEFAULT_REALTIME_TRANSPORT}"`,
    );

  const ttlRaw = options.realtimeTtlSeconds ?? nonEmpty(env.CHORUS_REALTIME_TTL_SECONDS);
  const ttl = Number(ttlRaw); // NaN when unset

  return {
    problems,
    options: {
      url,
      apiKey: str(options.apiKey, "CHORUS_API_KEY"),
      failOpen: bool(options.failOpen, "CHORUS_FAIL_OPEN", true),
      enabled: bool(options.enabled, "CHORUS_ENABLED", true),
      drainOnExit: bool(options.drainOnExit, "CHORUS_DRAIN_ON_EXIT", true),
      channel: str(options.channel, "CHORUS_CHANNEL") ?? DEFAULT_CHANNEL,
      env: str(options.env, "CHORUS_ENV"),
      app: str(options.app, "CHORUS_APP"),
      agent: str(options.agent, "CHORUS_AGENT"),
      capture,
      logLevel,
      realtimeTransport,
      realtimeTtlSeconds: ttl > 0 && Number.isFinite(ttl) ? ttl : undefined,
      ...numbers,
      maxBatchBytes: MAX_BATCH_BYTES,
    },
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}
