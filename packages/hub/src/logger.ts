import pino, { type DestinationStream, type Logger } from "pino";
import type { HubLogger } from "./config.js";

/** What a redacted value reads as in a log line. */
const CENSOR = "[REDACTED]";

/**
 * Fields pino blanks wherever they appear at these paths: credentials in request headers
 * (fastify's request logs, at `debug`), and any field a call site might name after a secret.
 * Callers refer to keys by `keyId`; this is the net under that rule.
 */
const REDACT_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  'req.headers["x-api-key"]',
  "headers.authorization",
  "headers.cookie",
  "authorization",
  "apiKey",
  "api_key",
  "key",
  "token",
  "accessToken",
  "access_token",
  "password",
  "secret",
  "*.authorization",
  "*.apiKey",
  "*.access_token",
  "*.token",
];

/** Query parameters that carry a credential (`?access_token=` on GET and SSE routes). */
const SECRET_PARAMS = /([?&](?:access_token|api_key|apikey|key|token)=)[^&#]*/gi;

/** `url` with every credential query value replaced by `[REDACTED]`. */
export function redactUrl(url: unknown): unknown {
  return typeof url === "string" ? url.replace(SECRET_PARAMS, `$1${CENSOR}`) : url;
}

/** What a request log line says about the request: never its headers, its URL redacted. */
function requestSerializer(req: {
  method?: string;
  url?: string;
  ip?: string;
  socket?: { remoteAddress?: string };
}) {
  return {
    method: req.method,
    url: redactUrl(req.url),
    remoteAddress: req.ip ?? req.socket?.remoteAddress,
  };
}

/** The pino instance behind a hub logger made by {@link createLogger} (fastify logs through it). */
const PINO = Symbol.for("chorus.hub.pino");

type PinoBacked = HubLogger & { [PINO]?: Logger };

/**
 * JSON lines on stderr through pino, fastify's own logger: `{"level":"info","time":"…",…,"msg":…}`,
 * with credentials redacted (see {@link REDACT_PATHS}, {@link redactUrl}).
 */
export function createLogger(
  level: "debug" | "info" | "warn" | "error",
  destination: DestinationStream = pino.destination({ fd: 2, sync: true }),
): HubLogger {
  const base = pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: CENSOR },
      serializers: { req: requestSerializer, url: redactUrl, err: pino.stdSerializers.err },
    },
    destination,
  );
  const at =
    (lvl: "debug" | "info" | "warn" | "error") => (msg: string, fields?: Record<string, unknown>) =>
      base[lvl](fields ?? {}, msg);
  const logger: PinoBacked = {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
  };
  logger[PINO] = base;
  return logger;
}

/** The pino instance of a logger from {@link createLogger}; undefined for a caller's own logger. */
export function pinoOf(logger: HubLogger): Logger | undefined {
  return (logger as PinoBacked)[PINO];
}

export const silentLogger: HubLogger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * Tokens may arrive in a URL (`?access_token=`), so any logged text that quotes a URL, an error
 * or a header could carry one: every field of every line passes through here first, whatever
 * the logger (the built-in one or the caller's `logger` option). Keys never reach a log line at
 * all; they are named by `keyId`.
 */
const TOKEN_PATTERNS: [RegExp, string][] = [
  [/(access_token=)[^&\s"'#]*/gi, "$1[redacted]"],
  [/\b(cat1|crt1)\.[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]*)?/g, "$1.[redacted]"],
];

export function redactSecrets(text: string): string {
  let out = text;
  for (const [pattern, replacement] of TOKEN_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

function redactValue(value: unknown, depth: number): unknown {
  if (typeof value === "string") return redactSecrets(value);
  if (depth > 4 || value === null || typeof value !== "object") return value;
  if (value instanceof Error) return redactSecrets(value.stack ?? value.message);
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactValue(v, depth + 1)]));
}

/** `logger` with {@link redactSecrets} applied to the message and every field. */
export function redactingLogger(logger: HubLogger): HubLogger {
  const wrap = (write: HubLogger["info"]) => (msg: string, fields?: Record<string, unknown>) =>
    write(
      redactSecrets(msg),
      fields === undefined ? undefined : (redactValue(fields, 0) as Record<string, unknown>),
    );
  const redacting: PinoBacked = {
    debug: wrap(logger.debug.bind(logger)),
    info: wrap(logger.info.bind(logger)),
    warn: wrap(logger.warn.bind(logger)),
    error: wrap(logger.error.bind(logger)),
  };
  // Fastify keeps logging through the built-in pino (its serializers redact request URLs).
  const pino = pinoOf(logger);
  if (pino !== undefined) redacting[PINO] = pino;
  return redacting;
}
