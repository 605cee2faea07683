import { isIP } from "node:net";
import { type ApiKeyConfig, parseApiKeys } from "./auth.js";
import { generateDevKey } from "./dev-key.js";
import {
  type DeliveryLimits,
  type DeliveryOptions,
  resolveDeliveryLimits,
} from "./delivery/limits.js";

export interface HubLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
}

export interface HubOptions {
  /** HTTP port; 0 picks a free one. Env `CHORUS_PORT`, default 7420. */
  port?: number;
  /** Interface to bind. Env `CHORUS_HOST`, default 127.0.0.1. Beyond loopback requires keys. */
  host?: string;
  /** MQTT TCP port; 0 picks a free one, `false` disables the TCP listener. Env `CHORUS_MQTT_PORT`, default 1883. */
  mqttPort?: number | false;
  /** SQLite file or `:memory:`. Env `CHORUS_DB`, default `.chorus/hub.db`. */
  db?: string;
  /** Keep events this long: `7d`, `12h`, `30m` (a unit is required), or a number of milliseconds. Env `CHORUS_RETENTION`. Default: forever. */
  retention?: string | number;
  /** `org:key,org2:key2` or a list. Env `CHORUS_API_KEYS`. Without keys a dev org and key are created. */
  apiKeys?: string | ApiKeyConfig[];
  /** Secret that signs realtime credentials. Env `CHORUS_SECRET`; default random per process. */
  secret?: string;
  /** Lifetime of realtime credentials. Env `CHORUS_REALTIME_TTL` (seconds). Default 1 hour. */
  realtimeTtlSeconds?: number;
  /**
   * How long an agent stays online after its hub last renewed its presence: the agents of a hub
   * that was killed go offline this long after. `15s`, or milliseconds. Env
   * `CHORUS_PRESENCE_LEASE`. Default 15 s (renewed every third of it).
   */
  presenceLease?: string | number;
  /** Logger; default writes JSON lines to stderr at `info`. `false` silences it. */
  logger?: HubLogger | false;
  /** Env `CHORUS_LOG_LEVEL`: debug, info, warn, error. */
  logLevel?: "debug" | "info" | "warn" | "error";
  /** Host name put into the URLs the hub hands out (credentials). Default: the bound host. */
  publicHost?: string;
  /**
   * The URL clients reach the hub by, e.g. `https://chorus.example.com` behind a TLS proxy:
   * realtime credentials then name `wss://chorus.example.com/mqtt`. Env `CHORUS_PUBLIC_URL`.
   * Default: derived from each request's Host.
   */
  publicUrl?: string;
  /**
   * An external MQTT broker instead of the embedded one (env `CHORUS_MQTT_URL`):
   * `mqtt://user:pass@host:1883` (also `mqtts:`, `ws:`, `wss:`), with the credentials of a
   * Mosquitto 2 dynamic-security admin. The hub publishes stored events there, ingests
   * `chorus-in/#` through a shared subscription, and provisions realtime credentials in the
   * broker. No embedded broker or MQTT listener starts.
   */
  mqttUrl?: string;
  /**
   * Where clients reach the external broker over WebSocket (env `CHORUS_MQTT_WS_URL`), handed
   * out as `wsUrl` with realtime credentials. Without it, credentials carry the broker's URL only.
   */
  mqttWsUrl?: string;
  /**
   * How an external broker learns who may connect (env `CHORUS_MQTT_AUTH`): `dynsec` (default)
   * provisions realtime credentials in Mosquitto 2's dynamic-security plugin; `hooks` has the
   * broker call the hub's HTTP authentication and ACL hooks (EMQX, VerneMQ), see
   * `mqttHookSecret`.
   */
  mqttAuth?: "dynsec" | "hooks";
  /**
   * With `mqttAuth: "hooks"` (env `CHORUS_MQTT_HOOK_SECRET`, 16+ characters): the bearer the
   * broker sends to the hook routes, and the password of the hubs' own broker connection
   * (username `chorus-hub`). Every hub on the broker needs the same one, and the same `secret`.
   */
  mqttHookSecret?: string;
  /**
   * Requests each API key may make per window, answered beyond with 429 and `Retry-After`.
   * `"600/s"`, `"60000/m"`, an object, or `false`. Env `CHORUS_RATE_LIMIT` (`off` disables).
   * Default {@link DEFAULT_RATE_LIMIT}.
   */
  rateLimit?: string | RateLimit | false;
  /**
   * Failed authentications (HTTP and MQTT) one remote address may make per window before its
   * attempts are refused with 429 until the window ends. Env `CHORUS_AUTH_FAILURE_LIMIT`
   * (`off` disables). Default {@link DEFAULT_AUTH_FAILURE_LIMIT}.
   */
  authFailureLimit?: string | RateLimit | false;
  /**
   * Reverse proxies whose `X-Forwarded-For` to believe: addresses, CIDR ranges
   * (`10.0.0.0/8`) or `loopback`, `linklocal`, `uniquelocal`, comma-separated or a list. The
   * client address (failed-auth throttle, per-address limits) is then the one the nearest
   * untrusted hop names. Env `CHORUS_TRUST_PROXY`. Default: none, so the socket's address
   * counts and a client's own `X-Forwarded-For` is ignored.
   */
  trustProxy?: string | string[];
  /** Send buffer per connection, write timeout, streams per key: see {@link DeliveryOptions}. */
  delivery?: DeliveryOptions;
  /**
   * Folder of the web console's static files (`@chorus/console`'s `consoleAssetsDir`), served at
   * `/`. Env `CHORUS_CONSOLE_DIR`. Unset, or a folder without `index.html`: no console, and `/`
   * is a JSON 404 like any unknown path. Its files are served with a Content-Security-Policy
   * that runs no inline script or style and lets no other site frame them.
   */
  consoleDir?: string;
  /**
   * Origins allowed to call the API from a browser (`https://app.example.com`), given CORS
   * headers on preflights and answers; any other origin gets none. Env `CHORUS_CORS_ORIGINS`
   * (comma-separated). Default: none (the console is same-origin).
   */
  corsOrigins?: string | string[];
}

export interface RateLimit {
  max: number;
  windowMs: number;
}

export interface ResolvedHubConfig {
  port: number;
  host: string;
  mqttPort: number | false;
  db: string;
  retentionMs: number | undefined;
  apiKeys: ApiKeyConfig[];
  /**
   * Set when no keys were configured: a generated dev key, which `createHub` replaces with the
   * one kept beside a SQLite database file (`<db>.dev-key`) so restarts keep it.
   */
  devKey: string | undefined;
  secret: string | undefined;
  realtimeTtlMs: number;
  presenceLeaseMs: number;
  logLevel: "debug" | "info" | "warn" | "error";
  publicHost: string | undefined;
  publicUrl: URL | undefined;
  /** The external broker (see {@link HubOptions.mqttUrl}); undefined embeds aedes. */
  mqttUrl: URL | undefined;
  mqttWsUrl: URL | undefined;
  /** With {@link mqttUrl}: dynamic security or HTTP hooks; undefined with the embedded broker. */
  mqttAuth: "dynsec" | "hooks" | undefined;
  /** Set exactly when {@link mqttAuth} is `hooks`. */
  mqttHookSecret: string | undefined;
  rateLimit: RateLimit | undefined;
  authFailureLimit: RateLimit | undefined;
  /** Trusted proxies (see {@link HubOptions.trustProxy}); empty trusts none. */
  trustProxy: string[];
  delivery: DeliveryLimits;
  consoleDir: string | undefined;
  corsOrigins: string[];
}

export const DEFAULT_PORT = 7420;
/** See {@link HubOptions.presenceLease}. */
export const DEFAULT_PRESENCE_LEASE_MS = 15_000;
export const DEFAULT_HOST = "127.0.0.1";
export const DEFAULT_MQTT_PORT = 1883;
export const DEFAULT_DB = ".chorus/hub.db";
export const DEV_ORG = "dev";
/**
 * 60,000 requests a minute per key: far above what batching clients send (one request per flush
 * interval each), so it only stops a runaway loop or a flood from taking the hub down for
 * everyone else.
 */
export const DEFAULT_RATE_LIMIT: RateLimit = { max: 60_000, windowMs: 60_000 };
/**
 * 300 failed authentications a minute per address: a misconfigured client retrying about once a
 * second never reaches it (so it cannot lock out its neighbours), while key guessing is held to
 * five attempts a second.
 */
export const DEFAULT_AUTH_FAILURE_LIMIT: RateLimit = { max: 300, windowMs: 60_000 };
/** Shortest `CHORUS_MQTT_HOOK_SECRET`: it guards the hook routes and is the hubs' broker password. */
export const MIN_HOOK_SECRET_LENGTH = 16;
/** Realtime credentials live an hour unless configured: long enough to be cheap, short enough to expire a leak. */
export const DEFAULT_REALTIME_TTL_SECONDS = 3600;

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** Parse `600/s`, `60000/m`, `1000/h` (requests per window); `off` or `false` disables. */
export function parseRateLimit(value: string | RateLimit | false): RateLimit | undefined {
  if (value === false || value === "off" || value === "false") return undefined;
  if (typeof value === "object") {
    if (!(value.max >= 1) || !(value.windowMs >= 1))
      throw new Error("rateLimit needs max and windowMs >= 1");
    return value;
  }
  const match = /^\s*(\d+)\s*\/\s*(s|m|h)\s*$/.exec(value);
  if (!match || Number(match[1]) < 1) {
    throw new Error(`invalid rate limit "${value}" (use e.g. 600/s, 60000/m, or off)`);
  }
  return { max: Number(match[1]), windowMs: UNITS[match[2] as string] as number };
}

/** The units a duration string must end with, as help texts name them. */
export const DURATION_UNITS = "ms, s, m, h, d, w";

/**
 * Parse `7d`, `12h`, `30m`, `45s`, `500ms` (units {@link DURATION_UNITS}); a number is
 * milliseconds. A string needs its unit: `"7"` is refused rather than read as 7 ms, which
 * would make `--retention 7` delete every event within a minute.
 */
export function parseDuration(value: string | number): number {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value <= 0) throw new Error(`invalid duration: ${value}`);
    return value;
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$/.exec(value);
  if (!match) {
    throw new Error(
      `invalid duration "${value}": a number and a unit (${DURATION_UNITS}), e.g. 7d, 12h, 30m`,
    );
  }
  const ms = Number(match[1]) * (UNITS[match[2] as string] as number);
  if (ms <= 0) throw new Error(`invalid duration "${value}": must be more than 0`);
  return ms;
}

/** Below a second, renewals (a third of the lease) would keep the store busy for nothing. */
const MIN_PRESENCE_LEASE_MS = 1_000;

function parsePresenceLease(value: string | number): number {
  const ms = parseDuration(value);
  if (ms < MIN_PRESENCE_LEASE_MS) {
    throw new Error(`CHORUS_PRESENCE_LEASE must be at least 1s (got ${value})`);
  }
  return ms;
}

export function isLoopback(host: string): boolean {
  return (
    host === "localhost" || host === "::1" || host === "[::1]" || /^127(\.\d{1,3}){3}$/.test(host)
  );
}

/**
 * Parse the CORS allowlist: each entry an origin exactly as a browser sends it (scheme, host,
 * port if not the default; no path, no trailing slash). Anything else stops the hub: an entry
 * that can never match would silently block the page it was meant for.
 */
export function parseCorsOrigins(value: string | string[]): string[] {
  const entries = (typeof value === "string" ? value.split(",") : value)
    .map((s) => s.trim())
    .filter(Boolean);
  for (const entry of entries) {
    let origin: string | undefined;
    try {
      origin = new URL(entry).origin;
    } catch {
      origin = undefined;
    }
    if (origin !== entry || !/^https?:$/.test(new URL(entry).protocol)) {
      throw new Error(
        `CHORUS_CORS_ORIGINS: "${entry}" is not an origin (use e.g. https://app.example.com or http://localhost:5173${origin && origin !== "null" ? `; did you mean ${origin}?` : ""})`,
      );
    }
  }
  return [...new Set(entries)];
}

/** `http(s)://host[:port][/prefix]`; anything else stops the hub rather than hand out bad URLs. */
export function parsePublicUrl(value: string | undefined): URL | undefined {
  if (value === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || !/^https?:$/.test(url.protocol) || url.search || url.hash || url.username) {
    throw new Error(
      `CHORUS_PUBLIC_URL: "${value}" must be an http(s) URL such as https://chorus.example.com`,
    );
  }
  return url;
}

function envNumber(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${name} must be a port number`);
  return n;
}

/**
 * `parse()`, its error naming the setting it read: the option when one was given, else its
 * variable (unless the message names it already), so a bad value says what to fix.
 */
function named<T>(option: unknown, name: string, variable: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const source = option === undefined ? variable : name;
    throw new Error(message.includes(source) ? message : `${source}: ${message}`);
  }
}

/** Merge explicit options over `CHORUS_*` environment variables over defaults, and check them. */
export function resolveHubConfig(
  options: HubOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): ResolvedHubConfig {
  const host = options.host ?? env.CHORUS_HOST ?? DEFAULT_HOST;
  const port = options.port ?? envNumber(env, "CHORUS_PORT") ?? DEFAULT_PORT;
  const mqttPort =
    options.mqttPort !== undefined
      ? options.mqttPort
      : env.CHORUS_MQTT_PORT === "off"
        ? false
        : (envNumber(env, "CHORUS_MQTT_PORT") ?? DEFAULT_MQTT_PORT);
  const keySpec = options.apiKeys ?? env.CHORUS_API_KEYS ?? "";
  let apiKeys = typeof keySpec === "string" ? parseApiKeys(keySpec) : keySpec;
  let devKey: string | undefined;
  if (apiKeys.length === 0) {
    if (!isLoopback(host)) {
      throw new Error(
        `refusing to listen on ${host} without API keys: set CHORUS_API_KEYS=org:key (or bind to 127.0.0.1)`,
      );
    }
    devKey = generateDevKey();
    apiKeys = [{ org: DEV_ORG, key: devKey }];
  }
  const retention = options.retention ?? env.CHORUS_RETENTION;
  const ttlRaw =
    options.realtimeTtlSeconds ??
    (env.CHORUS_REALTIME_TTL ? Number(env.CHORUS_REALTIME_TTL) : undefined);
  if (ttlRaw !== undefined && (!Number.isFinite(ttlRaw) || ttlRaw < 5)) {
    throw new Error("CHORUS_REALTIME_TTL must be at least 5 seconds");
  }
  const mqttUrl = parseBrokerUrl(
    "CHORUS_MQTT_URL",
    options.mqttUrl ?? (env.CHORUS_MQTT_URL || undefined),
    ["mqtt:", "mqtts:", "ws:", "wss:"],
  );
  const secret = options.secret ?? env.CHORUS_SECRET;
  const mqttAuth = resolveMqttAuth({
    url: mqttUrl,
    mode: options.mqttAuth ?? (env.CHORUS_MQTT_AUTH || undefined),
    hookSecret: options.mqttHookSecret ?? (env.CHORUS_MQTT_HOOK_SECRET || undefined),
    secret,
  });
  const logLevel =
    options.logLevel ?? (env.CHORUS_LOG_LEVEL as ResolvedHubConfig["logLevel"]) ?? "info";
  return {
    port,
    host,
    mqttPort,
    db: options.db ?? env.CHORUS_DB ?? DEFAULT_DB,
    retentionMs:
      retention === undefined || retention === ""
        ? undefined
        : named(options.retention, "retention", "CHORUS_RETENTION", () => parseDuration(retention)),
    apiKeys,
    devKey,
    secret,
    realtimeTtlMs: (ttlRaw ?? DEFAULT_REALTIME_TTL_SECONDS) * 1000,
    presenceLeaseMs: named(options.presenceLease, "presenceLease", "CHORUS_PRESENCE_LEASE", () =>
      parsePresenceLease(
        options.presenceLease ?? (env.CHORUS_PRESENCE_LEASE || DEFAULT_PRESENCE_LEASE_MS),
      ),
    ),
    logLevel,
    publicHost: options.publicHost ?? env.CHORUS_PUBLIC_HOST,
    publicUrl: parsePublicUrl(options.publicUrl ?? (env.CHORUS_PUBLIC_URL || undefined)),
    mqttUrl,
    ...mqttAuth,
    mqttWsUrl: parseBrokerUrl(
      "CHORUS_MQTT_WS_URL",
      options.mqttWsUrl ?? (env.CHORUS_MQTT_WS_URL || undefined),
      ["ws:", "wss:"],
    ),
    delivery: resolveDeliveryLimits(options.delivery, env),
    consoleDir: options.consoleDir ?? (env.CHORUS_CONSOLE_DIR || undefined),
    corsOrigins: named(options.corsOrigins, "corsOrigins", "CHORUS_CORS_ORIGINS", () =>
      parseCorsOrigins(options.corsOrigins ?? env.CHORUS_CORS_ORIGINS ?? ""),
    ),
    authFailureLimit: named(
      options.authFailureLimit,
      "authFailureLimit",
      "CHORUS_AUTH_FAILURE_LIMIT",
      () =>
        parseRateLimit(
          options.authFailureLimit ??
            (env.CHORUS_AUTH_FAILURE_LIMIT || undefined) ??
            DEFAULT_AUTH_FAILURE_LIMIT,
        ),
    ),
    rateLimit: named(options.rateLimit, "rateLimit", "CHORUS_RATE_LIMIT", () =>
      parseRateLimit(
        options.rateLimit ?? (env.CHORUS_RATE_LIMIT || undefined) ?? DEFAULT_RATE_LIMIT,
      ),
    ),
    trustProxy: named(options.trustProxy, "trustProxy", "CHORUS_TRUST_PROXY", () =>
      parseTrustProxy(options.trustProxy ?? env.CHORUS_TRUST_PROXY ?? ""),
    ),
  };
}

/**
 * Check the external broker's authentication mode and what it needs, so a misconfigured hub
 * stops at start with the variable to fix rather than refusing every client later.
 */
function resolveMqttAuth(input: {
  url: URL | undefined;
  mode: string | undefined;
  hookSecret: string | undefined;
  secret: string | undefined;
}): { mqttAuth: "dynsec" | "hooks" | undefined; mqttHookSecret: string | undefined } {
  const { url, mode, hookSecret, secret } = input;
  if (mode !== undefined && mode !== "dynsec" && mode !== "hooks") {
    throw new Error(`CHORUS_MQTT_AUTH must be "dynsec" or "hooks", got "${mode}"`);
  }
  if (!url) {
    if (mode !== undefined)
      throw new Error("CHORUS_MQTT_AUTH needs CHORUS_MQTT_URL (an external broker)");
    if (hookSecret !== undefined) {
      throw new Error("CHORUS_MQTT_HOOK_SECRET needs CHORUS_MQTT_URL and CHORUS_MQTT_AUTH=hooks");
    }
    return { mqttAuth: undefined, mqttHookSecret: undefined };
  }
  if (mode !== "hooks") {
    if (hookSecret !== undefined) {
      throw new Error("CHORUS_MQTT_HOOK_SECRET is used only with CHORUS_MQTT_AUTH=hooks");
    }
    return { mqttAuth: "dynsec", mqttHookSecret: undefined };
  }
  if (hookSecret === undefined || hookSecret.length < MIN_HOOK_SECRET_LENGTH) {
    throw new Error(
      `CHORUS_MQTT_AUTH=hooks needs CHORUS_MQTT_HOOK_SECRET of at least ${MIN_HOOK_SECRET_LENGTH} characters (the broker's bearer for the hook routes and the hubs' broker password)`,
    );
  }
  if (!secret) {
    throw new Error(
      "CHORUS_MQTT_AUTH=hooks needs CHORUS_SECRET, the same on every hub: any hub must verify the realtime credentials another hub issued",
    );
  }
  if (url.username || url.password) {
    throw new Error(
      "with CHORUS_MQTT_AUTH=hooks, CHORUS_MQTT_URL carries no credentials: the hub connects as chorus-hub with CHORUS_MQTT_HOOK_SECRET",
    );
  }
  return { mqttAuth: "hooks", mqttHookSecret: hookSecret };
}

function parseBrokerUrl(name: string, raw: string | undefined, schemes: string[]): URL | undefined {
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // Echoed without its credentials: this message reaches logs and terminals.
    const shown = raw.replace(/^([^/]*\/\/)[^@/]*@/, "$1***@");
    throw new Error(
      `${name} must be a URL (${schemes.map((s) => `${s}//`).join(", ")}), got "${shown}"`,
    );
  }
  if (!schemes.includes(url.protocol))
    throw new Error(`${name} must use ${schemes.join(" or ")}, got "${url.protocol}"`);
  return url;
}

/** Names fastify's trustProxy (proxy-addr) accepts for well-known ranges. */
const PROXY_RANGES = new Set(["loopback", "linklocal", "uniquelocal"]);

/**
 * Parse `10.0.0.1, 10.1.0.0/16, loopback` (or a list) into trusted proxy entries, refusing
 * anything that is not an address, a CIDR range or a named range: a typo must not silently
 * trust nobody, or everybody.
 */
export function parseTrustProxy(value: string | string[]): string[] {
  const entries = (Array.isArray(value) ? value : value.split(","))
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  for (const entry of entries) {
    const [address = "", bits, ...rest] = entry.split("/");
    const family = isIP(address);
    const validBits =
      bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 6 ? 128 : 32));
    if (PROXY_RANGES.has(entry)) continue;
    if (family === 0 || !validBits || rest.length > 0) {
      throw new Error(
        `invalid trusted proxy "${entry}" (use addresses, CIDR ranges like 10.0.0.0/8, or loopback)`,
      );
    }
  }
  return entries;
}

/** A broker's URL as clients are given it: without the hub's own credentials. */
export function brokerUrl(url: URL): string {
  const bare = new URL(url.href);
  bare.username = "";
  bare.password = "";
  return bare.href.replace(/\/$/, "");
}
