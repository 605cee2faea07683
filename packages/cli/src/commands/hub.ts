import { parseArgs } from "node:util";
import { consoleAssetsDir, consoleLink } from "@chorus/console";
import {
  createHub,
  DURATION_UNITS,
  type HubOptions,
  parseDuration,
  parseRateLimit,
  parseTrustProxy,
} from "@chorus/hub";
import { ExitCode, UsageError } from "../exit-codes.js";
import { type Io, paint } from "../io.js";

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
loopback. The key is kept in <db>.dev-key (mode 0600) and reused on restart (:memory:: new each start). CHORUS_SECRET sets the secret that signs realtime credentials.`;

function port(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new UsageError(`--${name} must be a port number (0-65535)`);
  return n;
}

/** Parse `chorus hub` flags into hub options. Flags win over environment variables. */
export function parseHubArgs(argv: string[]): HubOptions | "help" {
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
  const str = (k: string) => values[k] as string | undefined;
  const p = port("port", str("port"));
  if (p !== undefined) options.port = p;
  if (str("host") !== undefined) options.host = str("host");
  const mqtt = str("mqtt-port");
  if (mqtt === "off") options.mqttPort = false;
  else {
    const mp = port("mqtt-port", mqtt);
    if (mp !== undefined) options.mqttPort = mp;
  }
  if (str("db") !== undefined) options.db = str("db");
  const retention = str("retention");
  if (retention !== undefined) {
    try {
      parseDuration(retention);
    } catch (error) {
      throw new UsageError(`--retention: ${(error as Error).message}`);
    }
    options.retention = retention;
  }
  if (str("api-keys") !== undefined) options.apiKeys = str("api-keys");
  const rate = str("rate-limit");
  if (rate !== undefined) {
    try {
      options.rateLimit = parseRateLimit(rate) ?? false;
    } catch (error) {
      throw new UsageError(`--rate-limit: ${(error as Error).message}`);
    }
  }
  const mqttUrl = str("mqtt-url");
  if (mqttUrl !== undefined) {
    if (!/^(mqtts?|wss?):\/\//.test(mqttUrl))
      throw new UsageError("--mqtt-url must be an mqtt://, mqtts://, ws:// or wss:// URL");
    options.mqttUrl = mqttUrl;
  }
  const trustProxy = str("trust-proxy");
  if (trustProxy !== undefined) {
    try {
      options.trustProxy = parseTrustProxy(trustProxy);
    } catch (error) {
      throw new UsageError(`--trust-proxy: ${(error as Error).message}`);
    }
  }
  const level = str("log-level");
  if (level !== undefined) {
    if (!["debug", "info", "warn", "error"].includes(level)) {
      throw new UsageError("--log-level must be debug, info, warn or error");
    }
    options.logLevel = level as NonNullable<HubOptions["logLevel"]>;
  }
  return options;
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
  let hub: Awaited<ReturnType<typeof createHub>>;
  try {
    // The bundled console, unless CHORUS_CONSOLE_DIR names another build.
    hub = await createHub({
      consoleDir: process.env.CHORUS_CONSOLE_DIR || consoleAssetsDir,
      ...options,
    });
  } catch (error) {
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
