import { randomBytes } from "node:crypto";
import {
  type RealtimeCredentials,
  type Scope,
  realtimeCredentialsRequestSchema,
  TOPIC_ROOT,
  encodeTopicLevel,
} from "@chorus/protocol";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { hasScope, type Principal } from "../../auth.js";
import type { HubContext } from "../../context.js";
import { brokerUrl } from "../../config.js";
import type { DynsecProvisioner } from "../../mqtt/dynsec.js";
import { hookUsername, rightsOf } from "../../mqtt/hooks.js";
import { principalOf } from "../auth-hook.js";
import { HttpError } from "../errors.js";
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
    // Credentials asked for with a token end when the token does (it is never outlived).
    const ttlMs = Math.min(
      ctx.config.realtimeTtlMs,
      (input.ttlSeconds ?? Number.POSITIVE_INFINITY) * 1000,
      (principal.expiresAt ?? Number.POSITIVE_INFINITY) - Date.now(),
    );
    const clientId = input.clientId ?? `chorus-${randomBytes(8).toString("hex")}`;
    const narrowed = narrowScopes(principal, input.scopes);
    if (ctx.config.mqttAuth === "hooks" && ctx.config.mqttUrl) {
      return hookCredentials(ctx, ctx.config.mqttUrl, narrowed, clientId, ttlMs);
    }
    if (ctx.mqttProvisioner && ctx.config.mqttUrl) {
      return provisioned(ctx, ctx.mqttProvisioner, ctx.config.mqttUrl, narrowed, clientId, ttlMs);
    }
    const { token, expiresAt } = ctx.auth.issueToken(narrowed, clientId, ttlMs);
    // Bound to every interface, the hub cannot know which of its addresses the client can
    // reach: the Host it was called on is the best answer (CHORUS_PUBLIC_HOST overrides).
    const bound = ctx.addresses.host;
    const host = urlHost(
      ctx.config.publicUrl?.hostname ??
        ctx.config.publicHost ??
        (WILDCARD_HOSTS.has(bound) ? request.hostname : bound),
    );
    const credentials: Omit<RealtimeCredentials, "url"> & { url?: string } = {
      wsUrl: webSocketUrl(ctx, request),
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

/**
 * With an external broker, the credentials are a client of that broker, provisioned in it and
 * enforced by it (see {@link DynsecProvisioner}); the hub is not on the connection at all.
 */
async function provisioned(
  ctx: HubContext,
  provisioner: DynsecProvisioner,
  mqttUrl: URL,
  principal: Principal,
  clientId: string,
  ttlMs: number,
): Promise<RealtimeCredentials> {
  let issued: Awaited<ReturnType<DynsecProvisioner["issue"]>>;
  try {
    issued = await provisioner.issue(
      principal.org,
      { subscribe: hasScope(principal, "subscribe"), publish: hasScope(principal, "publish") },
      clientId,
      ttlMs,
      principal.expiresAt,
    );
  } catch (error) {
    ctx.logger.warn("realtime credentials: the external broker did not provision them", {
      error: String(error),
    });
    throw new HttpError("unavailable", "the MQTT broker is unavailable; retry shortly", {
      retryAfterMs: 5_000,
    });
  }
  return {
    url: brokerUrl(mqttUrl),
    wsUrl: brokerUrl(ctx.config.mqttWsUrl ?? mqttUrl),
    username: issued.username,
    password: issued.password,
    clientId: issued.clientId,
    topicPrefix: `${TOPIC_ROOT}/${encodeTopicLevel(principal.org)}/`,
    expiresAt: issued.expiresAt.toISOString(),
  };
}

/**
 * With broker HTTP hooks, nothing is provisioned: the username states org, rights and expiry,
 * and the password is the signed token that vouches for it (see `mqtt/hooks.ts`), so whichever
 * hub the broker asks can verify it.
 */
function hookCredentials(
  ctx: HubContext,
  mqttUrl: URL,
  principal: Principal,
  clientId: string,
  ttlMs: number,
): RealtimeCredentials {
  const { token, expiresAt } = ctx.auth.issueToken(principal, clientId, ttlMs);
  return {
    url: brokerUrl(mqttUrl),
    wsUrl: brokerUrl(ctx.config.mqttWsUrl ?? mqttUrl),
    username: hookUsername(principal.org, rightsOf(principal), expiresAt.getTime()),
    password: token,
    clientId,
    topicPrefix: `${TOPIC_ROOT}/${encodeTopicLevel(principal.org)}/`,
    expiresAt: expiresAt.toISOString(),
  };
}

/** Every scope asked for must be one the caller holds; absent, the caller's own. */
function narrowScopes(principal: Principal, asked: Scope[] | undefined): Principal {
  if (!asked) return principal;
  const missing = asked.filter((s) => !hasScope(principal, s));
  if (missing.length > 0) {
    throw new HttpError(
      "forbidden",
      `credentials cannot be wider than their caller, which lacks ${missing.map((s) => `"${s}"`).join(", ")}`,
      { missing },
    );
  }
  return { ...principal, scopes: new Set(asked) };
}

/**
 * Where a client reaches the broker's WebSocket: under the hub's public URL when one is set
 * (`https://` gives `wss://`, a path prefix is kept), else `CHORUS_PUBLIC_HOST` with the bound
 * port, else the host and scheme the request came in on (the Host header, so a client behind a
 * port mapping gets the port it used; behind a trusted proxy, its forwarded host and scheme).
 */
function webSocketUrl(ctx: HubContext, request: FastifyRequest): string {
  const publicUrl = ctx.config.publicUrl;
  if (publicUrl) {
    const scheme = publicUrl.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${publicUrl.host}${publicUrl.pathname.replace(/\/+$/, "")}/mqtt`;
  }
  if (ctx.config.publicHost !== undefined) {
    return `ws://${urlHost(ctx.config.publicHost)}:${ctx.addresses.httpPort}/mqtt`;
  }
  const scheme = request.protocol === "https" ? "wss" : "ws";
  return `${scheme}://${request.host}/mqtt`;
}

const WILDCARD_HOSTS = new Set(["0.0.0.0", "::", "[::]"]);

/** IPv6 literals need brackets inside a URL. */
function urlHost(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}
