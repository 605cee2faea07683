import type { FastifyInstance, FastifyRequest } from "fastify";
import { bearerToken } from "../../auth.js";
import type { HubContext } from "../../context.js";
import {
  type ConnectAttempt,
  decideConnect,
  decideTopic,
  type HookAction,
  sameSecret,
} from "../../mqtt/hooks.js";
import { HttpError, validationFailed } from "../errors.js";
import { requireObjectBody } from "../validate.js";

/**
 * The HTTP authentication and ACL hooks of external brokers (`CHORUS_MQTT_AUTH=hooks`), in each
 * broker's documented request and answer shapes; the decisions are `mqtt/hooks.ts`'s.
 *
 * - EMQX 5: `POST /v1/mqtt/hooks/emqx/authn` (HTTP authentication, body
 *   `{"username":"${username}","password":"${password}","clientid":"${clientid}"}`, answer
 *   `{"result":"allow"|"deny","is_superuser":false}`) and `POST /v1/mqtt/hooks/emqx/authz`
 *   (HTTP authorization, body `{"username":"${username}","clientid":"${clientid}",
 *   "action":"${action}","topic":"${topic}"}`, answer `{"result":"allow"|"deny"}`).
 * - VerneMQ webhooks: `POST /v1/mqtt/hooks/vernemq`, the hook named by the `vernemq-hook`
 *   header (`auth_on_register`, `auth_on_subscribe`, `auth_on_publish` and their `_m5` forms),
 *   answers `{"result":"ok"}` or `{"result":{"error":"not_allowed"}}`.
 *
 * The broker proves itself with `CHORUS_MQTT_HOOK_SECRET`: `Authorization: Bearer <secret>`
 * (EMQX sends configured headers), or `?token=<secret>` in the endpoint URL for VerneMQ, whose
 * webhook configuration documents no headers (the hub redacts `token=` from its logs). Without
 * it: 401, and the failure counts toward the per-address throttle. A body that is not the
 * broker's shape: 400. A refused client gets the broker's own deny answer, with 200.
 */
export function registerMqttHookRoutes(app: FastifyInstance, ctx: HubContext): void {
  const secret = ctx.config.mqttHookSecret;
  if (ctx.config.mqttAuth !== "hooks" || secret === undefined) return;

  const connect = (attempt: ConnectAttempt) => {
    const decision = decideConnect(attempt, ctx.auth, secret);
    if (!decision.allow) {
      ctx.metrics.mqttAuthFailures.inc();
      ctx.logger.debug("mqtt hook: connect refused", {
        clientId: attempt.clientId,
        username: attempt.username,
        reason: decision.reason,
      });
    }
    return decision;
  };
  const topic = (username: string, action: HookAction, name: string) => {
    const allowed = decideTopic(username, action, name);
    if (!allowed) {
      ctx.metrics.mqttDenied.inc({ kind: action });
      ctx.logger.debug(`mqtt hook: ${action} denied`, { username, topic: name });
    }
    return allowed;
  };

  app.post("/v1/mqtt/hooks/emqx/authn", async (request) => {
    checkBroker(request, ctx, secret);
    const body = requireObjectBody(request.body);
    const decision = connect({
      username: optionalString(body, "username"),
      password: optionalString(body, "password"),
      clientId: requiredString(body, "clientid"),
    });
    if (!decision.allow) return { result: "deny" };
    const identity = decision.identity;
    // EMQX ≥ 5.8 disconnects the client at `expire_at` (seconds); older versions ignore it,
    // and the ACL hook refuses everything past the expiry in the username anyway.
    return identity.kind === "client"
      ? { result: "allow", is_superuser: false, expire_at: Math.floor(identity.expiresAtMs / 1000) }
      : { result: "allow", is_superuser: false };
  });

  app.post("/v1/mqtt/hooks/emqx/authz", async (request) => {
    checkBroker(request, ctx, secret);
    const body = requireObjectBody(request.body);
    const username = optionalString(body, "username") ?? "";
    const action = requiredString(body, "action");
    if (action !== "publish" && action !== "subscribe") {
      throw validationFailed(`action must be "publish" or "subscribe", got "${action}"`);
    }
    const name = requiredString(body, "topic");
    return { result: topic(username, action, name) ? "allow" : "deny" };
  });

  app.post("/v1/mqtt/hooks/vernemq", async (request) => {
    checkBroker(request, ctx, secret);
    const hook = request.headers["vernemq-hook"];
    const body = requireObjectBody(request.body);
    const m5 = typeof hook === "string" && hook.endsWith("_m5");
    switch (typeof hook === "string" ? hook.replace(/_m5$/, "") : undefined) {
      case "auth_on_register": {
        const decision = connect({
          username: optionalString(body, "username"),
          password: optionalString(body, "password"),
          clientId: requiredString(body, "client_id"),
        });
        return decision.allow ? OK : NOT_ALLOWED;
      }
      case "auth_on_publish": {
        const username = optionalString(body, "username") ?? "";
        return topic(username, "publish", requiredString(body, "topic")) ? OK : NOT_ALLOWED;
      }
      case "auth_on_subscribe": {
        const username = optionalString(body, "username") ?? "";
        const topics = subscribeTopics(body);
        const granted = topics.map((t) => ({
          topic: t.topic,
          qos: topic(username, "subscribe", t.topic) ? t.qos : m5 ? NOT_AUTHORIZED_M5 : FAILURE,
        }));
        const refused = granted.filter((t, i) => t.qos !== topics[i]?.qos).length;
        if (refused === 0) return OK;
        if (refused === granted.length) return NOT_ALLOWED;
        // Some filters refused: the documented rewrite answer, with the refusal code as QoS.
        return m5
          ? { result: "ok", modifiers: { topics: granted } }
          : { result: "ok", topics: granted };
      }
      default:
        throw validationFailed(
          `the vernemq-hook header must name auth_on_register, auth_on_subscribe or auth_on_publish (or their _m5 forms), got ${hook === undefined ? "none" : JSON.stringify(hook)}`,
        );
    }
  });
}

const OK = { result: "ok" };
const NOT_ALLOWED = { result: { error: "not_allowed" } };
/** SUBACK failure in MQTT 3.1.1, as VerneMQ's `auth_on_subscribe` takes it. */
const FAILURE = 128;
/** MQTT 5 reason code "Not authorized", as VerneMQ's `auth_on_subscribe_m5` takes it. */
const NOT_AUTHORIZED_M5 = 135;

/** The broker's secret, as a bearer or `?token=`; 401 (and a throttle strike) without it. */
function checkBroker(request: FastifyRequest, ctx: HubContext, secret: string): void {
  const wait = ctx.authThrottle?.blockedFor(request.ip);
  if (wait !== undefined) {
    throw new HttpError("rate_limited", "too many failed authentications from this address", {
      retryAfterMs: wait,
    });
  }
  const query = request.query as Record<string, unknown> | undefined;
  const fromQuery = query?.token;
  if (fromQuery !== undefined && typeof fromQuery !== "string") {
    throw validationFailed("token must be given once");
  }
  const given = bearerToken(request.headers.authorization) ?? fromQuery;
  if (given === undefined || !sameSecret(given, secret)) {
    ctx.authThrottle?.fail(request.ip);
    throw new HttpError(
      "unauthorized",
      given === undefined
        ? "missing the broker's credential: Authorization: Bearer <CHORUS_MQTT_HOOK_SECRET> (or ?token= for VerneMQ)"
        : "invalid hook secret",
    );
  }
}

function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw validationFailed(`${field} must be a string`);
  return value;
}

function requiredString(body: Record<string, unknown>, field: string): string {
  const value = optionalString(body, field);
  if (value === undefined || value === "") throw validationFailed(`${field} is required`);
  return value;
}

/** VerneMQ's `topics: [{ topic, qos }]`, checked. */
function subscribeTopics(body: Record<string, unknown>): { topic: string; qos: number }[] {
  const topics = body.topics;
  if (!Array.isArray(topics) || topics.length === 0) {
    throw validationFailed("topics must be a non-empty list of { topic, qos }");
  }
  return topics.map((entry, i) => {
    const t = entry as { topic?: unknown; qos?: unknown } | null;
    if (
      typeof t !== "object" ||
      t === null ||
      typeof t.topic !== "string" ||
      !Number.isInteger(t.qos)
    ) {
      throw validationFailed(`topics[${i}] must be { topic: string, qos: integer }`);
    }
    return { topic: t.topic, qos: t.qos as number };
  });
}
