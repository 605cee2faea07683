import { setMaxListeners } from "node:events";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { Authenticator } from "./auth.js";
import { AuthFailureThrottle } from "./auth-throttle.js";
import { compileTrustProxy } from "./client-address.js";
import {
  brokerUrl,
  DEV_ORG,
  type HubLogger,
  type HubOptions,
  type ResolvedHubConfig,
  resolveHubConfig,
} from "./config.js";
import type { HubContext } from "./context.js";
import { storedDevKey } from "./dev-key.js";
import { type CommitSignal, LocalCommitSignal } from "./delivery/commit-signal.js";
import { PgCommitSignal } from "./delivery/pg-commit-signal.js";
import { DeliveryEngine } from "./delivery/engine.js";
import { Presence } from "./presence.js";
import { StorageTrouble } from "./storage-trouble.js";
import { createLogger, redactingLogger, silentLogger } from "./logger.js";
import { HubMetrics } from "./metrics.js";
import { type BrokerHandle, startBroker } from "./mqtt/broker.js";
import { connectExternalBroker } from "./mqtt/external.js";
import { buildHttpServer } from "./http/server.js";
import { isPostgresUrl, PgStore } from "./store/pg.js";
import { SqliteStore } from "./store/sqlite.js";
import type { Store } from "./store/types.js";

/**
 * The store and the commit signal that goes with it: Postgres (any number of hubs, wake-ups by
 * `LISTEN/NOTIFY`) for a `postgres://` URL, else SQLite (one hub per file, wake-ups in process).
 */
async function openStorage(
  db: string,
  logger: HubLogger,
): Promise<{ store: Store; commits: CommitSignal }> {
  if (isPostgresUrl(db)) {
    const store = await PgStore.open(db);
    const commits = new PgCommitSignal(db, () => store.maxSeq(), logger);
    try {
      await commits.start();
    } catch (error) {
      await store.close();
      throw error;
    }
    return { store, commits };
  }
  if (db !== ":memory:") makeDirectory(dirname(db));
  return { store: SqliteStore.open(db), commits: new LocalCommitSignal() };
}

/**
 * `mkdir -p`, one level at a time from the nearest that exists: Node 20's `mkdirSync(dir,
 * { recursive: true })` never returns for a path under `/proc` (`--db /proc/x/chorus.db` hung the
 * hub at 100 % CPU); made level by level, the first that cannot be made throws its own error.
 */
function makeDirectory(dir: string): void {
  const missing: string[] = [];
  for (let at = dir; ; at = dirname(at)) {
    try {
      mkdirSync(at);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EEXIST") break;
      if (code !== "ENOENT" || dirname(at) === at || missing.length >= MAX_NEW_DIRECTORY_LEVELS)
        throw error;
      missing.push(at);
      continue;
    }
    break;
  }
  for (const level of missing.reverse()) {
    try {
      mkdirSync(level);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
}

/** Directory levels a database path may create: far past any real layout, and a bound on the walk. */
const MAX_NEW_DIRECTORY_LEVELS = 64;

/**
 * A SQLite file's dev key is kept beside it (see {@link storedDevKey}), so a restarted hub
 * accepts the key clients already hold. `:memory:` and Postgres keep a fresh key per start.
 * Runs after the store is open: its one-hub lock means no other hub writes the key file.
 */
function withKeptDevKey(config: ResolvedHubConfig): ResolvedHubConfig {
  if (config.devKey === undefined || config.db === ":memory:" || isPostgresUrl(config.db))
    return config;
  const key = storedDevKey(config.db);
  return { ...config, devKey: key, apiKeys: [{ org: DEV_ORG, key }] };
}

/** How often retention pruning runs: often enough that the database never holds much past its window. */
const PRUNE_INTERVAL_MS = 60_000;

export interface Hub {
  /** `http://host:port` of the HTTP API (and SSE). */
  readonly url: string;
  readonly host: string;
  readonly httpPort: number;
  /** TCP port of the embedded broker, undefined when the TCP listener is disabled. */
  readonly mqttPort: number | undefined;
  /** `mqtt://host:port`, undefined when the TCP listener is disabled. */
  readonly mqttUrl: string | undefined;
  /** `ws://host:port/mqtt` */
  readonly wsUrl: string;
  /** The generated dev key when no keys were configured (printed by `chorus hub`). */
  readonly devKey: string | undefined;
  readonly config: ResolvedHubConfig;
  readonly store: Store;
  /** "Seq N committed" wake-ups of the delivery tail (across hubs with Postgres). */
  readonly commits: CommitSignal;
  /** Stop accepting, end SSE streams, close the broker, checkpoint the database. Idempotent. */
  close(): Promise<void>;
}

/**
 * Start a hub in this process.
 *
 * @example
 * const hub = await createHub({ port: 0, mqttPort: 0, db: ":memory:", logger: false });
 * console.log(hub.url, hub.devKey);
 * await hub.close();
 */
export async function createHub(options: HubOptions = {}): Promise<Hub> {
  const resolved = resolveHubConfig(options);
  const logger =
    options.logger === false
      ? silentLogger
      : redactingLogger(options.logger ?? createLogger(resolved.logLevel));
  const { store, commits } = await openStorage(resolved.db, logger);
  let config: ResolvedHubConfig;
  try {
    config = withKeptDevKey(resolved);
  } catch (error) {
    await commits.close();
    await store.close();
    throw error;
  }
  const closing = new AbortController();
  // Every open stream listens for shutdown on this signal; a thousand watchers are not a leak.
  setMaxListeners(0, closing.signal);
  const metrics = new HubMetrics();
  const delivery = new DeliveryEngine({
    store,
    commits,
    metrics,
    logger,
    limits: config.delivery,
  });
  await delivery.start();
  const presence = new Presence({ store, logger, leaseMs: config.presenceLeaseMs });
  commits.subscribePresence((org) => presence.changedElsewhere(org));
  presence.start();
  const ctx: HubContext = {
    config,
    store,
    commits,
    delivery,
    auth: new Authenticator(config.apiKeys, config.secret),
    authThrottle: config.authFailureLimit && new AuthFailureThrottle(config.authFailureLimit),
    trustProxy: compileTrustProxy(config.trustProxy),
    metrics,
    presence,
    logger,
    addresses: { httpPort: 0, mqttPort: undefined, host: config.host },
    closing: closing.signal,
    retained: { oldest: 0 },
    storageTrouble: new StorageTrouble(logger),
  };

  let broker: BrokerHandle | undefined;
  const app = await buildHttpServer(ctx);
  try {
    await app.listen({ port: config.port, host: config.host });
    const address = app.server.address();
    ctx.addresses.httpPort = typeof address === "object" && address ? address.port : config.port;
    if (config.mqttUrl) {
      const external = await connectExternalBroker(ctx, config.mqttUrl);
      broker = external;
      if (external.provisioner) ctx.mqttProvisioner = external.provisioner;
    } else {
      broker = await startBroker(ctx, app.server);
    }
    ctx.addresses.mqttPort = broker.port;
  } catch (error) {
    closing.abort();
    await app.close().catch(() => {});
    await broker?.close().catch(() => {});
    await presence.close();
    delivery.close();
    await commits.close();
    await store.close();
    throw error;
  }

  const prune = async () => {
    if (config.retentionMs === undefined) return;
    try {
      const n = await store.pruneEvents(new Date(Date.now() - config.retentionMs));
      if (n > 0) {
        ctx.metrics.eventsPruned.inc(n);
        logger.info("retention pruned events", { count: n });
      }
      ctx.retained.oldest = await store.oldestSeq();
    } catch (error) {
      logger.error("retention pruning failed", { error: String(error) });
    }
  };
  await prune();
  const pruneTimer = setInterval(prune, PRUNE_INTERVAL_MS);
  pruneTimer.unref();

  const urlHost =
    config.publicHost ?? (config.host.includes(":") ? `[${config.host}]` : config.host);
  let closed: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${ctx.addresses.httpPort}`,
    host: config.host,
    httpPort: ctx.addresses.httpPort,
    mqttPort: broker.port,
    mqttUrl: config.mqttUrl
      ? brokerUrl(config.mqttUrl)
      : broker.port === undefined
        ? undefined
        : `mqtt://${urlHost}:${broker.port}`,
    wsUrl: config.mqttUrl
      ? brokerUrl(config.mqttWsUrl ?? config.mqttUrl)
      : `ws://${urlHost}:${ctx.addresses.httpPort}/mqtt`,
    devKey: config.devKey,
    config,
    store,
    commits,
    close() {
      closed ??= (async () => {
        clearInterval(pruneTimer);
        closing.abort();
        await broker
          ?.close()
          .catch((e) => logger.error("broker close failed", { error: String(e) }));
        await app.close().catch((e) => logger.error("http close failed", { error: String(e) }));
        await presence.close();
        delivery.close();
        await commits.close();
        await store.close();
        logger.info("hub stopped");
      })();
      return closed;
    },
  };
}
