import { createHash, timingSafeEqual } from "node:crypto";
import { INGEST_TOPIC_ROOT, TOPIC_ROOT, topicOrg } from "@chorus/protocol";
import { type Authenticator, hasScope, type Principal } from "../auth.js";
import type { CredentialRights } from "./dynsec.js";
import { INGEST_FILTER } from "./ingest.js";

/**
 * Broker HTTP hooks (EMQX, VerneMQ): the broker asks the hub "may this client connect?" and
 * "may it publish or subscribe to this topic?". This module is the one place that answers; the
 * routes (`http/routes/mqtt-hooks.ts`) only translate each broker's request and answer shapes.
 *
 * Hubs stay stateless: a realtime credential is a username that states its org, rights and
 * expiry, `chorus/<rights>/<expiry s>/<url-encoded org>`, and a password that is the hub's signed
 * realtime token (HMAC with `CHORUS_SECRET`, bound to the client id). The connect hook accepts
 * the pair only when the token is valid for that client id and names exactly that username, so
 * a client cannot write itself a wider username. The ACL hooks then read the username alone
 * (brokers call them only for clients they authenticated, and their requests carry no
 * password), so no hub needs to remember anything, and any hub can answer for any other.
 */

/** The username of the hubs' own broker connections; their password is `CHORUS_MQTT_HOOK_SECRET`. */
export const HUB_USERNAME = "chorus-hub";

const USERNAME = /^chorus\/(n|s|p|sp)\/(\d{1,13})\/([^/]{1,400})$/;
/** What the hub subscribes to for ingest, in the forms a broker may hand the ACL hook. */
const HUB_SUBSCRIPTIONS = new Set([INGEST_FILTER, `${INGEST_TOPIC_ROOT}/#`]);

/** Who a hook request is about, once the connect hook accepted it. */
export type HookIdentity =
  | { kind: "hub" }
  | { kind: "client"; org: string; rights: CredentialRights; expiresAtMs: number };

export type HookAction = "publish" | "subscribe";

/** What a realtime credential may do, from the scopes of the token that carries it. */
export function rightsOf(principal: Principal): CredentialRights {
  return { subscribe: hasScope(principal, "subscribe"), publish: hasScope(principal, "publish") };
}

/** The username a realtime credential connects with: its org, rights and expiry, in the open. */
export function hookUsername(org: string, rights: CredentialRights, expiresAtMs: number): string {
  const letters = `${rights.subscribe ? "s" : ""}${rights.publish ? "p" : ""}` || "n";
  return `chorus/${letters}/${Math.floor(expiresAtMs / 1000)}/${encodeURIComponent(org)}`;
}

/** Read a username back; undefined for anything that is not a hub or credential username. */
export function parseHookUsername(username: string): HookIdentity | undefined {
  if (username === HUB_USERNAME) return { kind: "hub" };
  const match = USERNAME.exec(username);
  if (!match) return undefined;
  let org: string;
  try {
    org = decodeURIComponent(match[3] as string);
  } catch {
    return undefined;
  }
  if (encodeURIComponent(org) !== match[3]) return undefined;
  const letters = match[1] as string;
  return {
    kind: "client",
    org,
    rights: { subscribe: letters.includes("s"), publish: letters.includes("p") },
    expiresAtMs: Number(match[2]) * 1000,
  };
}

/** Compare secrets without leaking where they differ, or their lengths. */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

export interface ConnectAttempt {
  username: string | undefined;
  password: string | undefined;
  clientId: string;
}

export type ConnectDecision =
  | { allow: true; identity: HookIdentity }
  | { allow: false; reason: "bad_credentials" | "expired" | "username_mismatch" };

/**
 * The connect hook's decision. A hub connects as {@link HUB_USERNAME} with the hook secret; a
 * client with a realtime token valid for its client id and the username minted with it.
 */
export function decideConnect(
  attempt: ConnectAttempt,
  auth: Authenticator,
  hookSecret: string,
): ConnectDecision {
  const { username, password, clientId } = attempt;
  if (!username || !password) return { allow: false, reason: "bad_credentials" };
  if (username === HUB_USERNAME) {
    return sameSecret(password, hookSecret)
      ? { allow: true, identity: { kind: "hub" } }
      : { allow: false, reason: "bad_credentials" };
  }
  const token = auth.verifyToken(password, clientId);
  if (!token) {
    // Tell an expired token apart for the logs: the fix (new credentials) differs.
    const unbound = auth.verifyToken(password);
    return { allow: false, reason: unbound === undefined ? "bad_credentials" : "expired" };
  }
  const expected = hookUsername(token.org, rightsOf(token), token.expiresAt);
  if (username !== expected) return { allow: false, reason: "username_mismatch" };
  const identity = parseHookUsername(username);
  return identity ? { allow: true, identity } : { allow: false, reason: "username_mismatch" };
}

/**
 * The ACL hooks' decision for one topic (or filter). Clients: subscribe only under
 * `chorus/{org}/` with the subscribe right, publish only to `chorus-in/{org}/…` (no wildcards)
 * with the publish right, nothing after the username's expiry. `$`-topics (`$share`, `$queue`,
 * `$SYS`) are refused to clients: a shared subscription would take messages from other
 * subscribers of the same filter. Hubs: publish canonical topics, read the ingest topics.
 */
export function decideTopic(
  username: string,
  action: HookAction,
  topic: string,
  now = Date.now(),
): boolean {
  const identity = parseHookUsername(username);
  if (!identity || topic === "" || topic.includes("\u0000")) return false;
  if (identity.kind === "hub") {
    if (action === "subscribe") return HUB_SUBSCRIPTIONS.has(topic);
    return topicOrg(topic)?.root === TOPIC_ROOT && !hasWildcard(topic);
  }
  if (identity.expiresAtMs <= now || topic.startsWith("$")) return false;
  const owner = topicOrg(topic);
  if (owner?.org !== identity.org) return false;
  if (action === "subscribe") return identity.rights.subscribe && owner.root === TOPIC_ROOT;
  return identity.rights.publish && owner.root === INGEST_TOPIC_ROOT && !hasWildcard(topic);
}

function hasWildcard(topic: string): boolean {
  return topic.includes("+") || topic.includes("#");
}
