/** Bounds of the delivery engine, settable per hub (options or `CHORUS_*` variables). */
export interface DeliveryLimits {
  /** Bytes one connection may have queued but not yet taken by its reader. */
  sendBufferBytes: number;
  /** How long a socket may refuse every byte before it is dropped. */
  writeTimeoutMs: number;
  /** Concurrent SSE streams one API key may hold. */
  maxStreamsPerKey: number;
  /**
   * Bytes of recently delivered events kept in memory for readers that resume, and half as much
   * of the pages of older history replaying readers share; 0 turns both off.
   */
  replayCacheBytes: number;
}

/**
 * 1 MiB per connection: four events of the maximum size (256 KiB), or thousands of typical
 * ones — seconds of a busy channel — while 1,000 stuck watchers still cost at most 1 GiB.
 * A reader further behind is dropped and resumes from its cursor, so the bound loses nothing.
 */
export const DEFAULT_SEND_BUFFER_BYTES = 1024 * 1024;
/**
 * A socket that accepts nothing for 30 s is gone (a closed laptop, a dead NAT entry); TCP alone
 * would notice only after many minutes, holding its buffer all that time.
 */
export const DEFAULT_WRITE_TIMEOUT_MS = 30_000;
/**
 * 256 streams per key: a console opens a handful and an agents runner one per agent, so only
 * a leak (a reconnect loop that never closes) reaches it, before it exhausts the hub.
 */
export const DEFAULT_MAX_STREAMS_PER_KEY = 256;

/**
 * 16 MiB of the newest events (some 35,000 typical ones: seconds of a busy hub, minutes of a
 * quiet one), held once for the whole hub. A reader dropped for falling behind, or one that
 * reconnects after a blip, is almost always that close to the tail, and then resumes from
 * memory instead of every such reader reading and serializing its own copy from the store.
 */
export const DEFAULT_REPLAY_CACHE_BYTES = 16 * 1024 * 1024;

export interface DeliveryOptions {
  /** Env `CHORUS_SEND_BUFFER_BYTES`. Default {@link DEFAULT_SEND_BUFFER_BYTES}. */
  sendBufferBytes?: number;
  /** Env `CHORUS_WRITE_TIMEOUT_MS`. Default {@link DEFAULT_WRITE_TIMEOUT_MS}. */
  writeTimeoutMs?: number;
  /** Env `CHORUS_MAX_STREAMS_PER_KEY`. Default {@link DEFAULT_MAX_STREAMS_PER_KEY}. */
  maxStreamsPerKey?: number;
  /** Env `CHORUS_REPLAY_CACHE_BYTES`. Default {@link DEFAULT_REPLAY_CACHE_BYTES}. */
  replayCacheBytes?: number;
}

export function resolveDeliveryLimits(
  options: DeliveryOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): DeliveryLimits {
  return {
    sendBufferBytes: limit(options, env, "sendBufferBytes", "CHORUS_SEND_BUFFER_BYTES", 1),
    writeTimeoutMs: limit(options, env, "writeTimeoutMs", "CHORUS_WRITE_TIMEOUT_MS", 1),
    maxStreamsPerKey: limit(options, env, "maxStreamsPerKey", "CHORUS_MAX_STREAMS_PER_KEY", 1),
    replayCacheBytes: limit(options, env, "replayCacheBytes", "CHORUS_REPLAY_CACHE_BYTES", 0),
  };
}

const DEFAULTS: DeliveryLimits = {
  sendBufferBytes: DEFAULT_SEND_BUFFER_BYTES,
  writeTimeoutMs: DEFAULT_WRITE_TIMEOUT_MS,
  maxStreamsPerKey: DEFAULT_MAX_STREAMS_PER_KEY,
  replayCacheBytes: DEFAULT_REPLAY_CACHE_BYTES,
};

/**
 * One limit: the option, else its variable (unset or empty: the default), an integer of at
 * least `min`. A bad value is refused naming where it came from, the option or the variable.
 */
function limit(
  options: DeliveryOptions,
  env: NodeJS.ProcessEnv,
  name: keyof DeliveryLimits,
  variable: string,
  min: 0 | 1,
): number {
  const option = options[name];
  const raw = env[variable];
  const value = option ?? (raw === undefined || raw === "" ? undefined : Number(raw));
  if (value === undefined) return DEFAULTS[name];
  if (!Number.isInteger(value) || value < min) {
    const what = min === 1 ? "a positive integer" : "a non-negative integer";
    throw new Error(
      option === undefined
        ? `${variable} must be ${what}, got ${JSON.stringify(raw)}`
        : `${name} must be ${what}, got ${String(option)}`,
    );
  }
  return value;
}
