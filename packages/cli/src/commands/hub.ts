import { parseArgs } from "node:util";
import { consoleAssetsDir, consoleLink } from "@chorus/console";
import {
  createHub,
  DURATION_UNITS,
  type HubOptions,
  parseDuration,
  parseRateLimit,
  parseTrustProxy,
  type ResolvedHubConfig,
  resolveHubConfig,
} from "@chorus/hub";
import { ConfigError, ExitCode, UsageError } from "../exit-codes.js";
import { type Io, paint, visible } from "../io.js";

export const HUB_HELP = `Usage: chorus hub [options]

Start a Chorus hub: HTTP API and SSE, an embedded MQTT broker, SQLite storage.

Options (each also an environment variable):
  --port <n>          HTTP port, 0 for a free one          CHORUS_PORT       (7420)
  --host <addr>       interface to bind                    CHORUS_HOST       (127.0.0.1)
  --mqtt-port <n>     MQTT TCP port, 0 for a free one,     CHORUS_MQTT_PORT  (1883)
                      "off" to disable TCP (WebSocket /mqtt stays)
  --db <path>         SQLite file, :memory:, or postgres://…  CHORUS_DB      (.chorus/hub.db)
  --mqtt-url <url>    an external broker instead of the embedded one: mqtt://admin:pass@host
                      (a Mosquitto 2 dynamic-security admin) CHORUS_MQTT_URL (embedded);
                      EMQX, VerneMQ: mqtt://host with CHORUS_MQTT_AUTH=hooks and
                      CHORUS_MQTT_HOOK_SECRET (see the hub README)
  --retention <dur>   keep events this long: 7d, 12h, 30m  CHORUS_RETENTION  (forever)
                      (a unit is required: ${DURATION_UNITS})
  --api-keys <spec>   org:key,org2:key2 (org:key:read+subscribe narrows scopes)
                                                           CHORUS_API_KEYS   (a dev key)
  --rate-limit <n/u>  requests per key: 600/s, 60000/m, off CHORUS_RATE_LIMIT (60000/m)
  --trust-proxy <ips> reverse proxies whose X-Forwarded-For to believe: addresses, CIDR
                      ranges, loopback                     CHORUS_TRUST_PROXY (none)
  --log-level <lvl>   debug, info, warn, error             CHORUS_LOG_LEVEL  (info)
  -h, --help          show this help

Without API keys the hub creates org "dev" with a key, prints it, and refuses to bind beyond
loopback. The key is kept in <db>.dev-key (mode 0600) and reused on restart (:memory:: new each start). CHORUS_SECRET sets the secret that signs realtime credentials.

A bad flag or CHORUS_* variable exits 2 naming it; a port in use, a privileged port or an
address this machine does not have exits 3.`;

/**
 * Where one setting came from: its flag (a mistake there is a {@link UsageError}) or, without
 * the flag, its `CHORUS_*` variable (a {@link ConfigError}); errors name whichever it was.
 */
interface Setting {
  value: string;
  /** `--port` or `CHORUS_PORT`. */
  name: string;
  fail(problem: string): Error;
}

const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

function setting(
  flags: Record<string, string | boolean | undefined>,
  env: NodeJS.ProcessEnv,
  flag: string,
  variable: string,
  /** The hub reads an empty variable as unset for most settings; for the others it is a bad value. */
  emptyIsUnset = true,
): Setting | undefined {
  const fromFlag = flags[flag];
  if (typeof fromFlag === "string") {
    return { value: fromFlag, name: `--${flag}`, fail: (problem) => new UsageError(problem) };
  }
  const fromEnv = env[variable];
  if (fromEnv === undefined || (emptyIsUnset && fromEnv === "")) return undefined;
  return { value: fromEnv, name: variable, fail: (problem) => new ConfigError(problem) };
}

/** The value as the user typed it, safe to print. */
function quoted(value: string): string {
  return `"${visible(value)}"`;
}

function port(s: Setting): number {
  const n = Number(s.value);
  if (s.value.trim() === "" || !Number.isInteger(n) || n < 0 || n > 65535)
    throw s.fail(`${s.name} must be a port number (0-65535), got ${quoted(s.value)}`);
  return n;
}

/** A value checked by one of the hub's own parsers, its message prefixed with where it came from. */
function checked<T>(s: Setting, parse: (value: string) => T): T {
  try {
    return parse(s.value);
  } catch (error) {
    throw s.fail(`${s.name}: ${(error as Error).message}`);
  }
}

/**
 * Parse `chorus hub` flags into hub options. Flags win over environment variables: a setting
 * without its flag is read from its `CHORUS_*` variable here, so a bad value stops the command
 * with the variable's name (exit 2) rather than a message from deep in the hub.
 */
export function parseHubArgs(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): HubOptions | "help" {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: "string" },
        host: { type: "string" },
        "mqtt-port": { type: "string" },
        "mqtt-url": { type: "string" },
        db: { type: "string" },
        retention: { type: "string" },
        "api-keys": { type: "string" },
        "rate-limit": { type: "string" },
        "trust-proxy": { type: "string" },
        "log-level": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return "help";
  const options: HubOptions = {};
  const from = (flag: string, variable: string, emptyIsUnset?: boolean) =>
    setting(values, env, flag, variable, emptyIsUnset);
  const str = (k: string) => values[k] as string | undefined;

  const httpPort = from("port", "CHORUS_PORT");
  if (httpPort) options.port = port(httpPort);
  const host = from("host", "CHORUS_HOST", false);
  if (host) {
    if (host.value.trim() === "")
      throw host.fail(`${host.name} must be an address to bind, such as 127.0.0.1, got ""`);
    options.host = host.value;
  }
  const mqttPort = from("mqtt-port", "CHORUS_MQTT_PORT");
  if (mqttPort) options.mqttPort = mqttPort.value === "off" ? false : port(mqttPort);
  if (str("db") !== undefined) options.db = str("db");
  const retention = from("retention", "CHORUS_RETENTION");
  if (retention) {
    checked(retention, parseDuration);
    options.retention = retention.value;
  }
  if (str("api-keys") !== undefined) options.apiKeys = str("api-keys");
  const rate = from("rate-limit", "CHORUS_RATE_LIMIT");
  if (rate) options.rateLimit = checked(rate, parseRateLimit) ?? false;
  // CHORUS_MQTT_URL is checked by the hub, with a message that names it.
  const mqttUrl = str("mqtt-url");
  if (mqttUrl !== undefined) {
    if (!/^(mqtts?|wss?):\/\//.test(mqttUrl))
      throw new UsageError("--mqtt-url must be an mqtt://, mqtts://, ws:// or wss:// URL");
    options.mqttUrl = mqttUrl;
  }
  const trustProxy = from("trust-proxy", "CHORUS_TRUST_PROXY");
  if (trustProxy) options.trustProxy = checked(trustProxy, parseTrustProxy);
  const level = from("log-level", "CHORUS_LOG_LEVEL", false);
  if (level) {
    if (!(LOG_LEVELS as readonly string[]).includes(level.value)) {
      throw level.fail(
        `${level.name} must be debug, info, warn or error, got ${quoted(level.value)}`,
      );
    }
    options.logLevel = level.value as (typeof LOG_LEVELS)[number];
  }
  return options;
}

/**
 * The whole configuration, flags over `CHORUS_*` variables over defaults, checked before
 * anything starts: whatever the hub refuses here (a variable it reads itself, settings that
 * do not go together) is a configuration error, exit 2, not a failure at run time.
 */
function resolveConfig(options: HubOptions): ResolvedHubConfig {
  let config: ResolvedHubConfig;
  try {
    config = resolveHubConfig(options);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  // The embedded broker's TCP listener on the HTTP port would fail as "in use" by the hub itself.
  if (!config.mqttUrl && config.port !== 0 && config.port === config.mqttPort) {
    throw new ConfigError(
      `HTTP and MQTT cannot both listen on port ${config.port}: pass a different --port or --mqtt-port`,
    );
  }
  return config;
}

/** What the socket error of a failed listen says, when it is one. */
interface ListenError extends NodeJS.ErrnoException {
  address?: string;
  port?: number;
  hostname?: string;
}

/**
 * One line for a hub that could not listen (port in use, a privileged port, an address this
 * machine does not have, a host name that does not resolve), naming the address and what to
 * change; undefined for any other failure.
 */
export function listenFailure(
  error: unknown,
  config: Pick<ResolvedHubConfig, "host" | "port" | "mqttPort">,
): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const e = error as ListenError;
  const lookup =
    e.syscall === "getaddrinfo" &&
    e.hostname === config.host &&
    (e.code === "ENOTFOUND" || e.code === "EAI_AGAIN");
  if (!lookup && e.syscall !== "listen" && e.syscall !== "bind") return undefined;
  // The HTTP server listens first; the MQTT listener is the one on the MQTT port.
  const mqtt = e.port !== undefined && e.port === config.mqttPort && e.port !== config.port;
  const flag = mqtt ? "--mqtt-port" : "--port";
  const portNumber = e.port ?? (mqtt ? config.mqttPort : config.port);
  const host = e.address ?? config.host;
  const address = `${host.includes(":") ? `[${host}]` : host}${portNumber ? `:${portNumber}` : ""}`;
  const where = `cannot listen${mqtt ? " for MQTT" : ""} on ${address}`;
  const code = e.code ?? "";
  const otherPort = mqtt ? "--mqtt-port (0 picks a free one, off disables MQTT TCP)" : "--port";
  switch (code) {
    case "EADDRINUSE":
      return `${where}: the port is in use (EADDRINUSE); pass ${otherPort} or stop the other process`;
    case "EACCES":
      return typeof portNumber === "number" && portNumber > 0 && portNumber < 1024
        ? `${where}: permission denied (EACCES): ports below 1024 need privileges; pass ${flag} 1024 or above`
        : `${where}: permission denied (EACCES); pass ${otherPort}`;
    case "EADDRNOTAVAIL":
      return `${where}: this machine has no such address (EADDRNOTAVAIL); pass --host with one of its addresses (127.0.0.1 for this machine only, 0.0.0.0 for all)`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `${where}: the host name does not resolve (${code}); pass --host with one of this machine's addresses`;
    default:
      return `${where}: ${e.message}`;
  }
}

/**
 * `chorus hub`: start, print where everything listens, and stop cleanly on SIGINT/SIGTERM
 * (stop accepting, end SSE streams, close the broker, checkpoint the database, exit 0).
 */
export async function hubCommand(argv: string[], io: Io, signal?: AbortSignal): Promise<number> {
  const options = parseHubArgs(argv);
  if (options === "help") {
    io.out(HUB_HELP);
    return ExitCode.Ok;
  }
  const config = resolveConfig(options);
  let hub: Awaited<ReturnType<typeof createHub>>;
  try {
    // The bundled console, unless CHORUS_CONSOLE_DIR names another build.
    hub = await createHub({
      consoleDir: process.env.CHORUS_CONSOLE_DIR || consoleAssetsDir,
      ...options,
    });
  } catch (error) {
    const listen = listenFailure(error, config);
    if (listen !== undefined) {
      io.err(`chorus hub: ${listen}`);
      return ExitCode.Unreachable;
    }
    io.err(`chorus hub: ${(error as Error).message}`);
    return ExitCode.Failure;
  }
  const b = (s: string) => paint(io, "bold", s);
  io.out(`${b("Chorus hub")} is running`);
  io.out(`  console    ${hub.config.consoleDir ? `${hub.url}/` : "(not built)"}`);
  // The base URL, as CHORUS_URL and --url take it (routes live under /v1).
  io.out(`  HTTP API   ${hub.url}`);
  io.out(`  SSE        ${hub.url}/v1/channels/<channel>/stream`);
  io.out(
    `  MQTT       ${hub.mqttUrl ?? "(TCP listener off)"}${hub.config.mqttUrl ? " (external broker)" : ""}`,
  );
  io.out(`  MQTT/WS    ${hub.wsUrl}`);
  io.out(`  database   ${hub.config.db}`);
  if (hub.devKey) {
    io.out("");
    io.out(`  No API keys configured: created org "dev" with this key (loopback only):`);
    io.out(`  ${paint(io, "green", hub.devKey)}`);
    io.out(`  export CHORUS_URL=${hub.url} CHORUS_API_KEY=${hub.devKey}`);
    io.out("");
    io.out(`  Open the console: ${paint(io, "cyan", consoleLink(hub.url, { key: hub.devKey }))}`);
  }
  io.out("");
  io.out("Press Ctrl+C to stop.");

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    signal?.addEventListener("abort", stop, { once: true });
  });
  io.out("Stopping hub…");
  await hub.close();
  io.out("Hub stopped.");
  return ExitCode.Ok;
}
