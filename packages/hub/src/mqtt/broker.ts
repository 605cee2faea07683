import type { Server } from "node:http";
import { Aedes, type Client } from "aedes";
import type { HubContext } from "../context.js";
import type { Frame } from "../delivery/frame.js";
import { createAuthHooks } from "./auth.js";
import { IDLE_SWEEP_INTERVAL_MS } from "./idle-sessions.js";
import { forgetSession, keepInboundQoS2Small } from "./persistence.js";
import { isolateSubscriber } from "./isolation.js";
import {
  limitPacketSize,
  MAX_CONNECT_PACKET_BYTES,
  MAX_MQTT_PACKET_BYTES,
  PACKET_DEADLINE_MS,
  type StalledPacket,
} from "./packet-limit.js";
import { MqttSessions } from "./sessions.js";
import { listenTcp, type TcpListener } from "./tcp.js";
import { attachWebSocket } from "./websocket.js";

/** A socket that has not sent CONNECT holds memory for nothing; a real client sends it at once. */
const CONNECT_TIMEOUT_MS = 10_000;

export interface BrokerHandle {
  /** TCP port of the listener, undefined when TCP is disabled (`mqttPort: false`). */
  port: number | undefined;
  /** Close listeners, clients and the broker. Leaves the HTTP server to its owner. Idempotent. */
  close(): Promise<void>;
}

/**
 * Start the embedded broker: aedes on TCP (`config.mqttPort`) and on WebSocket at `/mqtt` of
 * the HTTP server. Every event the hub stores (HTTP or MQTT ingest) is published on its
 * canonical topic with the stored JSON as body.
 */
export async function startBroker(ctx: HubContext, httpServer: Server): Promise<BrokerHandle> {
  const { config, metrics, logger } = ctx;
  const sessions = new MqttSessions((clientId) => {
    forgetSession(aedes, clientId).catch((error: unknown) =>
      logger.warn("mqtt idle session not removed", { clientId, error: String(error) }),
    );
  });
  const aedes: Aedes = await Aedes.createBroker({
    ...createAuthHooks(ctx, sessions),
    connectTimeout: CONNECT_TIMEOUT_MS,
    // A socket that takes nothing for this long is closed, as a stuck SSE socket is.
    drainTimeout: ctx.delivery.limits.writeTimeoutMs,
  });

  keepInboundQoS2Small(aedes);
  const sweep = setInterval(() => sessions.sweepIdle(), IDLE_SWEEP_INTERVAL_MS);
  sweep.unref();
  aedes.on("unsubscribe", (filters, client) => sessions.releaseFilters(client, filters));
  /** WebSocket clients' larger message limit, applied once they are authenticated. */
  const onAdmitted = new WeakMap<Client, () => void>();
  aedes.on("client", (client) => {
    onAdmitted.get(client)?.();
    const added = sessions.connected(client, () => {
      logger.info("mqtt client disconnected: realtime credentials expired", {
        clientId: client.id,
      });
      client.close();
    });
    if (added) metrics.mqttClients.inc();
  });
  aedes.on("clientDisconnect", (client) => {
    if (sessions.disconnected(client)) metrics.mqttClients.dec();
  });
  const onClientError = (client: Client | null, error: Error) => {
    if (error.message === "drain timeout") {
      metrics.slowConsumerDrops.inc({ kind: "mqtt", reason: "write_timeout" });
      logger.info("mqtt subscriber dropped", { clientId: client?.id, reason: "write_timeout" });
      return;
    }
    logger.debug("mqtt client error", { clientId: client?.id, error: error.message });
  };
  aedes.on("clientError", onClientError);
  aedes.on("connectionError", onClientError);

  const stopPublishing = ctx.delivery.tail.addSink({
    offer: (frame) => publishStored(aedes, frame, ctx),
  });

  const oversize = (announced: number | undefined, limit: number) => {
    ctx.metrics.mqttDenied.inc({ kind: "packet_too_large" });
    logger.warn("mqtt connection closed: packet too large", { announced, limit });
  };
  const stalled: StalledPacket = {
    afterMs: PACKET_DEADLINE_MS,
    onStalled: () => {
      ctx.metrics.mqttDenied.inc({ kind: "packet_stalled" });
      logger.warn("mqtt connection closed: a packet did not arrive in full in time", {
        afterMs: PACKET_DEADLINE_MS,
      });
    },
  };
  // Every connection's deliveries are decoupled from the others' before it can subscribe.
  const isolate = (client: Client) => {
    const held = isolateSubscriber(client, ctx, (reason) => {
      logger.info("mqtt subscriber dropped", { clientId: client.id, reason });
      client.close();
    });
    const release = ctx.delivery.account({
      kind: "mqtt",
      get bufferedBytes() {
        return held.bufferedBytes;
      },
    });
    client.conn.once("close", release);
  };
  const ws = attachWebSocket(httpServer, (stream, request, admitted) => {
    const client = aedes.handle(stream, request);
    isolate(client);
    onAdmitted.set(client, admitted);
    limitPacketSize(stream, MAX_MQTT_PACKET_BYTES, oversize, MAX_CONNECT_PACKET_BYTES, stalled);
  });
  let tcp: TcpListener | undefined;
  try {
    if (config.mqttPort !== false) {
      tcp = await listenTcp(config.host, config.mqttPort, (socket) => {
        isolate(aedes.handle(socket));
        limitPacketSize(socket, MAX_MQTT_PACKET_BYTES, oversize, MAX_CONNECT_PACKET_BYTES, stalled);
      });
    }
  } catch (error) {
    stopPublishing();
    clearInterval(sweep);
    await ws.close();
    await closeAedes(aedes);
    throw error;
  }
  logger.info("mqtt broker listening", { port: tcp?.port, wsPath: "/mqtt" });

  let closed: Promise<void> | undefined;
  return {
    port: tcp?.port,
    close() {
      closed ??= (async () => {
        stopPublishing();
        clearInterval(sweep);
        await Promise.all([ws.close(), tcp?.close()]);
        await closeAedes(aedes);
        metrics.mqttClients.dec(sessions.size);
        sessions.clear();
      })();
      return closed;
    },
  };
}

/** Fan a stored event out on its canonical topic. QoS 0: the store, not the broker, is the record. */
function publishStored(aedes: Aedes, frame: Frame, ctx: HubContext): void {
  // Nobody connected means nobody to deliver to; skip the topic match and serialization.
  if (aedes.connectedClients === 0) return;
  const topic = frame.topic;
  aedes.publish(
    { cmd: "publish", topic, payload: frame.payload, qos: 0, retain: false, dup: false },
    (error) => {
      if (error)
        ctx.logger.warn("mqtt publish of stored event failed", { topic, error: error.message });
    },
  );
}

function closeAedes(aedes: Aedes): Promise<void> {
  return new Promise((resolve) => aedes.close(() => resolve()));
}
