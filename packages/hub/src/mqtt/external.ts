import { randomBytes } from "node:crypto";
import { INGEST_TOPIC_ROOT, topicOrg } from "@chorus/protocol";
import { setTimeout as sleep } from "node:timers/promises";
import mqtt, { type MqttClient } from "mqtt";
import type { HubContext } from "../context.js";
import { STORAGE_RETRY_AFTER_MS } from "../http/errors.js";
import type { BrokerHandle } from "./broker.js";
import { DynsecProvisioner } from "./dynsec.js";
import { HUB_USERNAME } from "./hooks.js";
import { INGEST_FILTER, ingestPublish, recordDrop } from "./ingest.js";
import { MAX_MQTT_PACKET_BYTES } from "./packet-limit.js";

/** A broker that does not answer CONNECT by then is not there: the hub does not start. */
const CONNECT_TIMEOUT_MS = 10_000;
/**
 * Client publishes this hub ingests at once. Past it (or past {@link MAX_INGEST_IN_FLIGHT_BYTES})
 * the hub stops reading from the broker (mqtt.js reads the next packet only once the last one's
 * handler is done), so a flood waits in the broker's queue for this hub, which the broker bounds
 * (Mosquitto's `max_queued_messages`, 1,000 by default, drops past it), instead of piling up in
 * the hub's memory as pending writes. 64 keeps a store's group commit fed (each round takes what
 * is pending) without holding more than it writes.
 */
export const MAX_INGEST_IN_FLIGHT = 64;
/**
 * Payload bytes this hub ingests at once: 64 full-size batches (4 MiB each) would hold 256 MiB.
 * One publish is always taken, however large (the broker hands over nothing above
 * `MAX_MQTT_PACKET_BYTES`).
 */
export const MAX_INGEST_IN_FLIGHT_BYTES = 16 * 1024 * 1024;

export interface ExternalBroker extends BrokerHandle {
  /** With dynamic security; undefined with HTTP hooks, where the hub provisions nothing. */
  provisioner: DynsecProvisioner | undefined;
}

/**
 * Use an external broker (`CHORUS_MQTT_URL`) instead of the embedded one, as one of any number
 * of hubs:
 *
 * - every stored event this hub's tail reads is published on its canonical topic (QoS 0: the
 *   store is the record; a client that missed messages reads them by seq), and while the broker
 *   is away nothing queues for it;
 * - client publishes on `chorus-in/{org}/...` arrive through a shared subscription, so each is
 *   ingested by one hub, with the same validation as HTTP. The broker has already held the
 *   publisher to its org (the credentials' role), so the topic's org is the publisher's;
 * - realtime credentials are provisioned in the broker (Mosquitto 2's dynamic security), which
 *   enforces them; or, with `CHORUS_MQTT_AUTH=hooks`, the broker asks the hubs' HTTP hooks
 *   (see `hooks.ts`) and this hub connects as `chorus-hub` with the hook secret.
 */
export async function connectExternalBroker(ctx: HubContext, url: URL): Promise<ExternalBroker> {
  const { logger } = ctx;
  const hooks = ctx.config.mqttAuth === "hooks";
  const username = hooks ? HUB_USERNAME : decodeURIComponent(url.username);
  const password = hooks ? (ctx.config.mqttHookSecret as string) : decodeURIComponent(url.password);
  const bare = new URL(url.href);
  bare.username = "";
  bare.password = "";
  /** One connection of this hub; `role` names it in the client id and the logs. */
  const open = async (role: string): Promise<MqttClient> => {
    const client = await mqtt
      .connectAsync(bare.href, {
        username,
        password,
        clientId: `chorus-hub-${role}-${randomBytes(6).toString("hex")}`,
        clean: true,
        connectTimeout: CONNECT_TIMEOUT_MS,
        reconnectPeriod: 1_000,
        // QoS 0 publishes are not queued while the broker is away: the store is the record.
        queueQoSZero: false,
        // MQTT 5, to tell the broker what the hub takes: no packet larger than a client may
        // send the embedded broker (the broker drops a larger publish for the hub instead of
        // handing it over whole, up to 256 MiB in memory), and no more unacknowledged publishes
        // than the hub ingests at once.
        protocolVersion: 5,
        properties: {
          maximumPacketSize: MAX_MQTT_PACKET_BYTES,
          receiveMaximum: MAX_INGEST_IN_FLIGHT,
        },
      })
      .catch((error: Error) => {
        throw new Error(
          `cannot reach the MQTT broker at ${bare.href} (CHORUS_MQTT_URL): ${error.message}`,
        );
      });
    // No Nagle on the hub's side either (see `tcp.ts`); mqtt.js leaves it on. Each reconnect
    // brings a new socket, so on every connect.
    noDelay(client);
    client.on("connect", () => noDelay(client));
    client.on("error", (error) =>
      logger.warn("mqtt broker connection error", { connection: role, error: error.message }),
    );
    client.on("offline", () =>
      logger.warn("mqtt broker unreachable, reconnecting", { connection: role, url: bare.href }),
    );
    return client;
  };
  // Two connections: client publishes are read on their own, so while their ingest holds
  // reading back (below), the dynamic-security answers that credentials wait for still flow.
  const client = await open("control");
  const ingest = await open("ingest").catch(async (error: unknown) => {
    await client.endAsync(true).catch(() => {});
    throw error;
  });
  let inFlight = 0;
  let inFlightBytes = 0;
  /**
   * The ingests under way. The broker counts each as delivered (the handler's callback ran, or
   * will when the bound frees), so close() waits for them before the store closes.
   */
  const taken = new Set<Promise<void>>();
  /** The packet handler's callback, held back while the in-flight bounds are reached. */
  let readNext: (() => void) | undefined;
  // A dropped connection's packets are discarded with it; the new one reads on its own.
  ingest.on("close", () => {
    readNext = undefined;
  });
  ingest.handleMessage = (packet, done) => {
    const { topic, payload } = packet;
    const org = topicOrg(topic);
    if (org?.root !== INGEST_TOPIC_ROOT) return done();
    const log = { topic };
    const body = typeof payload === "string" ? Buffer.from(payload) : payload;
    inFlight++;
    inFlightBytes += body.length;
    ctx.metrics.mqttIngestInFlight.set(inFlight);
    const ingesting = ingestUntilStored(org.org, topic, body)
      .then(
        (outcome) => {
          if (!outcome.ok) recordDrop(ctx, outcome.reason, log);
        },
        (error: unknown) =>
          logger.error("mqtt ingest failed unexpectedly", { ...log, error: String(error) }),
      )
      .finally(() => {
        inFlight--;
        inFlightBytes -= body.length;
        ctx.metrics.mqttIngestInFlight.set(inFlight);
        const next = readNext;
        readNext = undefined;
        next?.();
        taken.delete(ingesting);
      });
    taken.add(ingesting);
    if (inFlight < MAX_INGEST_IN_FLIGHT && inFlightBytes < MAX_INGEST_IN_FLIGHT_BYTES) done();
    else readNext = () => done();
  };

  /** Aborted by close(): a publish waiting for the store gives up (and is counted as dropped). */
  const closing = new AbortController();
  /**
   * Ingest one publish; while the store cannot be reached (Postgres failing over, say), wait as
   * HTTP asks its clients to (`STORAGE_RETRY_AFTER_MS`) and try again, holding its in-flight
   * slot. The broker has its acknowledgement already and no publisher would send it again: a
   * store outage must cost time, not the publish. Past the in-flight bound the broker's queue
   * waits for the hub meanwhile.
   */
  const ingestUntilStored = async (org: string, topic: string, body: Buffer) => {
    for (;;) {
      // An unreachable store is logged (rate limited) by ingestPublish, through storageTrouble.
      const outcome = await ingestPublish(ctx, org, topic, body);
      if (outcome.ok || !outcome.unavailable || closing.signal.aborted) return outcome;
      ctx.metrics.mqttIngestWaits.inc();
      await sleep(STORAGE_RETRY_AFTER_MS, undefined, { signal: closing.signal }).catch(() => {});
    }
  };

  let provisioner: DynsecProvisioner | undefined;
  try {
    if (!hooks) provisioner = await DynsecProvisioner.start(client, username);
    const [granted] = await ingest.subscribeAsync(INGEST_FILTER, { qos: 1 });
    // A SUBACK reason code of 0x80 or above is a refusal (MQTT 5, 3.9.3).
    if (granted && granted.qos >= 0x80)
      throw new Error(`subscription to ${INGEST_FILTER} refused (reason code ${granted.qos})`);
  } catch (error) {
    await Promise.all([client.endAsync(true), ingest.endAsync(true)]).catch(() => {});
    const needs = hooks
      ? "its hook routes allowing chorus-hub to read the ingest topics"
      : "a Mosquitto 2 dynamic-security admin in CHORUS_MQTT_URL";
    throw new Error(
      `the MQTT broker at ${bare.href} refused what the hub needs (${needs}): ${String(error)}`,
    );
  }

  const stopPublishing = ctx.delivery.tail.addSink({
    offer(frame) {
      if (client.connected) client.publish(frame.topic, frame.payload, { qos: 0 });
    },
  });
  logger.info("using external mqtt broker", { url: bare.href });

  let closed: Promise<void> | undefined;
  return {
    port: undefined,
    provisioner,
    close() {
      closed ??= (async () => {
        stopPublishing();
        provisioner?.close();
        // Nothing new is read; what was taken is stored (one that waits for an unreachable
        // store makes one more attempt, then gives up), before the hub closes its store.
        await ingest.endAsync(true);
        closing.abort();
        await Promise.allSettled(taken);
        await client.endAsync();
      })();
      return closed;
    },
  };
}

/** Turn Nagle's algorithm off on a client's TCP or TLS socket (a WebSocket stream has none). */
function noDelay(client: MqttClient): void {
  const stream = client.stream as { setNoDelay?: (on: boolean) => unknown } | undefined;
  stream?.setNoDelay?.(true);
}
