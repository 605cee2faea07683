import { randomBytes } from "node:crypto";
import {
  type RealtimeCredentials,
  realtimeCredentialsRequestSchema,
  TOPIC_ROOT,
  encodeTopicLevel,
} from "@chorus/protocol";
import type { FastifyInstance } from "fastify";
import type { HubContext } from "../../context.js";
import { principalOf } from "../auth-hook.js";
import { parseWith } from "../validate.js";

/**
 * `POST /v1/realtime/credentials`: a short-lived token for the MQTT broker, so browsers and
 * agents never hand their API key to a WebSocket. The hub caps the lifetime at its configured
 * TTL; a client may ask for less.
 */
export function registerRealtimeRoutes(app: FastifyInstance, ctx: HubContext): void {
  app.post("/v1/realtime/credentials", { config: { scope: "subscribe" } }, async (request) => {
    const principal = principalOf(request);
    const input = parseWith(realtimeCredentialsRequestSchema, request.body ?? {}, "body");
    const ttlMs = Math.min(
      ctx.config.realtimeTtlMs,
      (input.ttlSeconds ?? Number.POSITIVE_INFINITY) * 1000,
    );
    const clientId = input.clientId ?? `chorus-${randomBytes(8).toString("hex")}`;
    const { token, expiresAt } = ctx.auth.issueToken(principal, clientId, ttlMs);
    // Bound to every interface, the hub cannot know which of its addresses the client can
    // reach: the Host it was called on is the best answer (CHORUS_PUBLIC_HOST overrides).
    const bound = ctx.addresses.host;
    const host = urlHost(
      ctx.config.publicHost ?? (WILDCARD_HOSTS.has(bound) ? request.hostname : bound),
    );
    const credentials: Omit<RealtimeCredentials, "url"> & { url?: string } = {
      wsUrl: `ws://${host}:${ctx.addresses.httpPort}/mqtt`,
      username: principal.org,
      password: token,
      clientId,
      topicPrefix: `${TOPIC_ROOT}/${encodeTopicLevel(principal.org)}/`,
      expiresAt: expiresAt.toISOString(),
    };
    // Without a TCP listener there is no mqtt:// URL to give; clients use wsUrl.
    if (ctx.addresses.mqttPort !== undefined)
      credentials.url = `mqtt://${host}:${ctx.addresses.mqttPort}`;
    return credentials;
  });
}

const WILDCARD_HOSTS = new Set(["0.0.0.0", "::", "[::]"]);

/** IPv6 literals need brackets inside a URL. */
function urlHost(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}
