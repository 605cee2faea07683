import type { RealtimeCredentials } from "@chorus/protocol";
import { decodeTopicLevel } from "@chorus/protocol/wire";
import type { MqttClient } from "mqtt";
import { AuthenticationError, ConnectionError } from "./errors.js";
import { loadMqttConnect } from "./platform.js";
import type { Transport } from "./transport.js";

/**
 * CONNACK return codes that mean "your credentials are not accepted" (MQTT 3.1.1: 4 bad user
 * name or password, 5 not authorized). Any other refusal is an availability problem.
 */
const AUTH_REFUSED = new Set([4, 5, 134, 135]);

/** Ask the hub for short-lived broker credentials. */
export async function fetchCredentials(
  transport: Transport,
  ttlSeconds: number | undefined,
): Promise<RealtimeCredentials> {
  const response = await transport.call(
    {
      method: "POST",
      path: "/v1/realtime/credentials",
      json: ttlSeconds === undefined ? {} : { ttlSeconds: Math.max(10, Math.round(ttlSeconds)) },
    },
    // Issuing a second set of credentials is harmless.
    { idempotent: true },
  );
  const creds = response.body as RealtimeCredentials;
  if (!creds || typeof creds.password !== "string" || typeof creds.topicPrefix !== "string") {
    throw new ConnectionError("the hub answered the credentials request with something else", {
      reason: "unavailable",
    });
  }
  // The lifetime on the hub's own clock (its `Date` header, whole seconds: a second is taken
  // off so the estimate never runs long), counted from now on ours.
  const issued = Date.parse(response.headers.get("date") ?? "");
  const expires = Date.parse(creds.expiresAt);
  if (!Number.isNaN(issued) && !Number.isNaN(expires))
    localExpiry.set(creds, Date.now() + expires - issued - 1000);
  return creds;
}

/**
 * When each set of credentials expires by this machine's clock. `expiresAt` is the hub's clock:
 * read against ours, a client whose clock ran ahead of the hub's by more than the lifetime saw
 * every set expired on arrival and refreshed in a loop, a credentials request and a broker
 * connection after another as fast as they were answered.
 */
const localExpiry = new WeakMap<RealtimeCredentials, number>();

/** Milliseconds until `creds` expire (infinite when unknown). */
export function expiresIn(creds: RealtimeCredentials): number {
  const at = localExpiry.get(creds) ?? Date.parse(creds.expiresAt);
  return Number.isNaN(at) ? Number.POSITIVE_INFINITY : at - Date.now();
}

/** The org the credentials are for, from their `chorus/{org}/` prefix. */
export function orgOf(creds: RealtimeCredentials): string {
  const [, org] = creds.topicPrefix.split("/");
  return decodeTopicLevel(org ?? "") ?? "";
}

export interface OpenOptions {
  transport: "tcp" | "ws";
  timeoutMs: number;
}

/**
 * Connect one mqtt.js client with the credentials, without its own reconnect (the realtime
 * client owns reconnection, because each attempt may need fresh credentials). Resolves once
 * CONNACK accepted; rejects with {@link ConnectionError} (`reason: "auth_failed"` when the
 * broker refused the credentials). The returned client always has an `error` listener.
 */
export async function openClient(
  creds: RealtimeCredentials,
  options: OpenOptions,
): Promise<MqttClient> {
  const url = options.transport === "ws" || !creds.url ? creds.wsUrl : creds.url;
  const mqttConnect = await loadMqttConnect();
  const client = mqttConnect(url, {
    clientId: creds.clientId,
    username: creds.username,
    password: creds.password,
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: options.timeoutMs,
    resubscribe: false,
    queueQoSZero: false,
  });
  return new Promise<MqttClient>((resolve, reject) => {
    let settled = false;
    const fail = (error: ConnectionError) => {
      if (settled) return;
      settled = true;
      client.end(true);
      reject(error);
    };
    client.on("error", (error: Error & { code?: unknown }) => {
      if (settled) return;
      const code = typeof error.code === "number" ? error.code : undefined;
      if (code !== undefined && AUTH_REFUSED.has(code)) {
        fail(
          new ConnectionError(`the broker refused the credentials: ${error.message}`, {
            reason: "auth_failed",
            cause: new AuthenticationError(error.message),
          }),
        );
        return;
      }
      fail(
        new ConnectionError(`realtime connection to ${url} failed: ${error.message}`, {
          reason: "refused",
          cause: error,
        }),
      );
    });
    client.once("close", () =>
      fail(
        new ConnectionError(`realtime connection to ${url} closed before it was accepted`, {
          reason: "refused",
        }),
      ),
    );
    client.once("connect", () => {
      if (settled) return;
      settled = true;
      client.removeAllListeners("close");
      resolve(client);
    });
  });
}
