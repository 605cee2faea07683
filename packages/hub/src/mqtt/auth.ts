import { INGEST_TOPIC_ROOT, type Scope, TOPIC_ROOT, topicOrg } from "@chorus/protocol";
import type { AedesOptions, AuthenticateError, Client } from "aedes";
import { clientAddress, type TrustProxy } from "../client-address.js";
import { frameOfPayload } from "../delivery/frame.js";
import type { HubContext } from "../context.js";
import { isResentQoS2 } from "./persistence.js";
import { PublishThrottle } from "./publish-throttle.js";
import { type IngestOutcome, ingestPublish, recordDrop } from "./ingest.js";
import { MAX_SUBSCRIPTIONS_PER_CLIENT, type MqttPrincipal, type MqttSessions } from "./sessions.js";

/** CONNACK return code 4, "bad user name or password": what mqtt.js reports as a refused connect. */
const BAD_USERNAME_OR_PASSWORD = 4 as AuthenticateError["returnCode"];
const NOT_AUTHORIZED = 5 as AuthenticateError["returnCode"];

/**
 * The peer's address: the TCP socket's, or for WebSocket the upgrade request's, read through
 * the trusted proxies as fastify reads an HTTP request's, so one bad client behind a reverse
 * proxy does not lock out every other.
 */
function remoteAddress(client: Client, trust: TrustProxy | false): string | undefined {
  if (client.req) return clientAddress(client.req, trust);
  return (client.conn as { remoteAddress?: string }).remoteAddress;
}
/** CONNACK return code 2, "identifier rejected": the client id is held by another org. */
const IDENTIFIER_REJECTED = 2 as AuthenticateError["returnCode"];
/** CONNACK return code 3, "server unavailable": the key holds `maxStreamsPerKey` connections. */
const SERVER_UNAVAILABLE = 3 as AuthenticateError["returnCode"];

export type AuthHooks = Required<
  Pick<
    AedesOptions,
    "preConnect" | "authenticate" | "authorizeSubscribe" | "authorizePublish" | "authorizeForward"
  >
>;

/** A timer that never keeps the process alive (a hub closing does not wait for a held publish). */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function allows(principal: MqttPrincipal, scope: Scope): boolean {
  return principal.scopes.has(scope) || principal.scopes.has("admin");
}

/** True when `topic` (or filter) lies under `{root}/{org}/` with the org spelled out, not wildcarded. */
function inOrg(topic: string, root: string, org: string): boolean {
  const owner = topicOrg(topic);
  return owner !== undefined && owner.root === root && owner.org === org;
}

/**
 * The broker's authentication and authorization: the one place that decides who may connect,
 * what they may subscribe to and what they may publish.
 *
 * - CONNECT: the password is an API key or a realtime token (bound to the client id). A client
 *   id connected under another org is refused, so one tenant cannot kick another off.
 * - SUBSCRIBE: only `chorus/{own org}/...` with scope subscribe. A refused filter gets a SUBACK
 *   failure (0x80) and the connection stays up.
 * - PUBLISH: only `chorus-in/{own org}/...` with scope publish, handed to ingest. Canonical
 *   `chorus/` topics are the hub's alone, so a subscriber can trust what it reads there.
 *   MQTT 3.1.1 cannot NACK a publish, so a refused one closes the connection (MQTT-3.3.5-2,
 *   aedes' behaviour on an authorizePublish error). A well-authorized publish with a bad
 *   payload is acknowledged and dropped instead: a poison message must not cause a reconnect loop.
 * - FORWARD: a last check on every delivery, so no client ever receives another org's message
 *   or anything outside `chorus/`, whatever slipped past the checks above.
 */
export function createAuthHooks(ctx: HubContext, sessions: MqttSessions): AuthHooks {
  const { metrics, logger } = ctx;
  const throttle = ctx.config.rateLimit ? new PublishThrottle(ctx.config.rateLimit) : undefined;

  /**
   * Connections that asked for a persistent session without a client id: MQTT-3.1.3-8 has the
   * server refuse them (identifier rejected). aedes would name the session itself, an id the
   * client never learns, and keep it for an hour after the client left.
   */
  const nameless = new WeakSet<Client>();

  return {
    preConnect(client, packet, callback) {
      if (!packet.clientId && packet.clean === false) nameless.add(client);
      callback(null, true);
    },
    authenticate(client, _username, password, done) {
      if (nameless.has(client)) {
        metrics.mqttDenied.inc({ kind: "connect" });
        done(
          Object.assign(new Error("a persistent session (clean=false) needs a client id"), {
            returnCode: IDENTIFIER_REJECTED,
          }),
          null,
        );
        return;
      }
      const address = remoteAddress(client, ctx.trustProxy);
      if (ctx.authThrottle?.blockedFor(address) !== undefined) {
        metrics.mqttAuthFailures.inc();
        logger.debug("mqtt connect refused: too many failed authentications", {
          clientId: client.id,
        });
        done(
          Object.assign(new Error("too many failed authentications"), {
            returnCode: NOT_AUTHORIZED,
          }),
          null,
        );
        return;
      }
      const secret = password?.toString("utf8");
      const principal = secret ? ctx.auth.authenticateSecret(secret, client.id) : undefined;
      if (!principal) {
        ctx.authThrottle?.fail(address);
        metrics.mqttAuthFailures.inc();
        logger.debug("mqtt connect refused: bad credentials", { clientId: client.id });
        const error = Object.assign(new Error("bad credentials"), {
          returnCode: BAD_USERNAME_OR_PASSWORD,
        });
        done(error, null);
        return;
      }
      // Refused rather than given a separate session: the id names one session, the owner's.
      const owner = sessions.ownerOrg(client.id);
      if (owner !== undefined && owner !== principal.org) {
        metrics.mqttDenied.inc({ kind: "connect" });
        logger.warn("mqtt connect refused: client id in use by another org", {
          clientId: client.id,
          keyId: principal.keyId,
        });
        done(
          Object.assign(new Error("client id in use"), { returnCode: IDENTIFIER_REJECTED }),
          null,
        );
        return;
      }
      const release = ctx.delivery.mqttConnections.acquire(principal.keyId);
      if (!release) {
        metrics.mqttDenied.inc({ kind: "connection_limit" });
        logger.warn("mqtt connect refused: this key holds as many connections as allowed", {
          clientId: client.id,
          keyId: principal.keyId,
          limit: ctx.delivery.mqttConnections.max,
        });
        done(
          Object.assign(new Error("too many connections for this key"), {
            returnCode: SERVER_UNAVAILABLE,
          }),
          null,
        );
        return;
      }
      client.conn.once("close", release);
      // A client gone before this ran (its CONNECT was read, then it closed) sends no "close".
      if (client.conn.destroyed) release();
      sessions.remember(client, principal);
      done(null, true);
    },

    authorizeSubscribe(client, subscription, done) {
      const principal = sessions.principal(client);
      if (
        principal &&
        allows(principal, "subscribe") &&
        inOrg(subscription.topic, TOPIC_ROOT, principal.org)
      ) {
        const grant = sessions.grantFilter(client, subscription.topic);
        if (grant === "granted") {
          done(null, subscription);
          return;
        }
        metrics.mqttDenied.inc({ kind: "subscription_limit" });
        if (grant === "refused")
          logger.warn("mqtt subscribe refused: too many subscriptions on one connection", {
            clientId: client.id,
            keyId: principal.keyId,
            limit: MAX_SUBSCRIPTIONS_PER_CLIENT,
          });
        done(null, null);
        return;
      }
      metrics.mqttDenied.inc({ kind: "subscribe" });
      logger.debug("mqtt subscribe denied", {
        clientId: client.id,
        keyId: principal?.keyId,
        filter: subscription.topic,
      });
      // A null subscription is aedes' way to answer 0x80 for this filter only.
      done(null, null);
    },

    authorizePublish(client, packet, done) {
      const principal = sessions.principal(client);
      const topic = packet.topic;
      const log = { clientId: client?.id, keyId: principal?.keyId, topic };
      const isIngest = topicOrg(topic)?.root === INGEST_TOPIC_ROOT;
      const ownIngest = principal !== undefined && inOrg(topic, INGEST_TOPIC_ROOT, principal.org);
      if (!principal || !ownIngest || !allows(principal, "publish")) {
        metrics.mqttDenied.inc({ kind: "publish" });
        if (isIngest) recordDrop(ctx, ownIngest ? "forbidden" : "wrong_org", log);
        else logger.warn("mqtt publish denied: clients publish only on chorus-in/{org}/", log);
        done(new Error("publish not authorized"));
        return;
      }
      // The raw ingest publish is routed by aedes after this, to no one (nobody may subscribe
      // to chorus-in/); it must not be kept as a retained message either.
      packet.retain = false;
      const payload =
        typeof packet.payload === "string" ? Buffer.from(packet.payload) : packet.payload;
      const ingest = () => ingestPublish(ctx, principal.org, topic, payload);
      const wait = throttle?.delay(principal.keyId) ?? 0;
      if (wait > 0) metrics.mqttPublishesDelayed.inc();
      const ingested: Promise<IngestOutcome> = (wait > 0 ? sleep(wait) : Promise.resolve()).then(
        () =>
          packet.qos === 2 && client
            ? isResentQoS2(client, packet).then((resent) =>
                // Ingested when it first came; the broker acknowledges the resend again.
                resent ? { ok: true, stored: 0, duplicates: 1 } : ingest(),
              )
            : ingest(),
      );
      ingested.then(
        (outcome) => {
          if (outcome.ok) {
            done(null);
            return;
          }
          recordDrop(ctx, outcome.reason, log);
          // A store failure is ours: close so a QoS 1 publisher resends; anything else is acked.
          done(outcome.reason === "store_failed" ? new Error("store failed") : null);
        },
        (error: unknown) => {
          // ingestPublish does not throw; if it ever does, the broker must still stand.
          logger.error("mqtt ingest failed unexpectedly", { ...log, error: String(error) });
          done(new Error("ingest failed"));
        },
      );
    },

    authorizeForward(client, packet) {
      const principal = sessions.principal(client);
      if (!principal) return null;
      // A stored event's frame knows its org (its topic was made from it): no topic parsed
      // per subscriber per event. Any other packet has its topic read.
      const frame = frameOfPayload(packet.payload);
      const allowed = frame
        ? frame.org === principal.org
        : inOrg(packet.topic, TOPIC_ROOT, principal.org);
      return allowed ? packet : null;
    },
  };
}
