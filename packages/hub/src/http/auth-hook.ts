import type { Scope } from "@chorus/protocol";
import type { FastifyInstance, FastifyRequest } from "fastify";
import {
  ACCESS_TOKEN_PREFIX,
  type AuthFailure,
  bearerToken,
  hasScope,
  type Principal,
} from "../auth.js";
import type { HubContext } from "../context.js";
import { HttpError } from "./errors.js";
import { refuseRepeatedHeader } from "./header-text.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /**
     * Scope a route needs; routes without one (health, metrics, 404) need no key. `"any"`: any
     * authenticated caller (minting a token, which checks the scopes asked for itself).
     */
    scope?: Scope | "any";
    /**
     * The route checks a channel-narrowed token against the channels it touches (see
     * {@link allowChannel}). Every other scoped route refuses such a token: intents, agents and
     * portfolios are not confined to a channel, so a narrowed token cannot see them.
     */
    channelChecked?: boolean;
    /** The route answers with an SSE stream and accounts for its own metrics. */
    sse?: boolean;
  }
  interface FastifyRequest {
    /** Set by the auth hook on every route that declares a scope. */
    principal: Principal | null;
  }
}

/** The query parameter that carries a token where a header cannot be set (`EventSource`). */
export const ACCESS_TOKEN_PARAM = "access_token";

/**
 * Authenticate every route that declares `config.scope`: `Authorization: Bearer <key or token>`,
 * or on GET (SSE included) `?access_token=<token>` from `POST /v1/tokens`, never an API key: a
 * URL ends up in browser history, proxy logs and Referer headers, so only a short-lived narrowed
 * token may ride in one. Runs in `onRequest`, before the body is read, so an unauthenticated
 * client cannot make the hub buffer 4 MiB. `admin` implies every scope.
 */
export function installAuth(app: FastifyInstance, ctx: HubContext): void {
  app.decorateRequest("principal", null);
  app.addHook("onRequest", async (request, reply) => {
    const { scope, channelChecked } = request.routeOptions.config;
    const queryToken = takeQueryToken(request);
    if (scope === undefined) return;
    const wait = ctx.authThrottle?.blockedFor(request.ip);
    if (wait !== undefined) {
      reply.header("retry-after", String(Math.ceil(wait / 1000)));
      throw new HttpError(
        "rate_limited",
        "too many failed authentications from this address; retry later",
        { retryAfterMs: wait },
      );
    }
    // Node keeps only the first of two Authorization headers: refused, not guessed at.
    refuseRepeatedHeader(request.raw.rawHeaders, "Authorization");
    const header = bearerToken(request.headers.authorization);
    const secret = credentialOf(request, header, queryToken);
    const result: Principal | AuthFailure =
      secret === undefined
        ? "invalid"
        : queryToken !== undefined && !queryToken.startsWith(ACCESS_TOKEN_PREFIX)
          ? "invalid"
          : ctx.auth.authenticateBearer(secret);
    if (typeof result === "string") {
      ctx.authThrottle?.fail(request.ip);
      throw new HttpError("unauthorized", refusalMessage(result, secret, queryToken));
    }
    if (scope !== "any" && !hasScope(result, scope)) {
      throw new HttpError(
        "forbidden",
        `this ${result.via === "access_token" ? "token" : "key"} lacks the "${scope}" scope`,
      );
    }
    if (result.channels && !channelChecked) {
      throw new HttpError(
        "forbidden",
        "this token is narrowed to channels; it cannot use this route",
        { channels: [...result.channels] },
      );
    }
    request.principal = result;
  });
}

/**
 * Read `?access_token=` and remove it from the parsed query, so route schemas (strict about
 * unknown parameters) never see it. Only GET takes it: a write carries its credential in a
 * header, so a token in a form's or link's URL can never trigger one.
 */
function takeQueryToken(request: FastifyRequest): string | undefined {
  const query = request.query as Record<string, unknown> | undefined;
  // A preflight carries the URL of the request it asks about; it is never authenticated.
  if (request.method === "OPTIONS") return undefined;
  if (!query || !Object.hasOwn(query, ACCESS_TOKEN_PARAM)) return undefined;
  const value = query[ACCESS_TOKEN_PARAM];
  delete query[ACCESS_TOKEN_PARAM];
  if (request.method !== "GET") {
    throw new HttpError(
      "validation_failed",
      `${ACCESS_TOKEN_PARAM} is accepted on GET and SSE routes only; send Authorization: Bearer <token>`,
    );
  }
  if (typeof value !== "string" || value === "") {
    throw new HttpError("validation_failed", `${ACCESS_TOKEN_PARAM} must be given once, not empty`);
  }
  return value;
}

function credentialOf(
  request: FastifyRequest,
  header: string | undefined,
  queryToken: string | undefined,
): string | undefined {
  if (queryToken !== undefined && request.headers.authorization !== undefined) {
    throw new HttpError(
      "validation_failed",
      `send the credential once: Authorization or ${ACCESS_TOKEN_PARAM}, not both`,
    );
  }
  return queryToken ?? header;
}

function refusalMessage(
  failure: AuthFailure,
  secret: string | undefined,
  queryToken: string | undefined,
): string {
  if (secret === undefined) return "missing Authorization: Bearer <api key or token>";
  if (failure === "expired") return "the token has expired; mint a new one with POST /v1/tokens";
  if (queryToken !== undefined && !queryToken.startsWith(ACCESS_TOKEN_PREFIX)) {
    return `${ACCESS_TOKEN_PARAM} takes a token from POST /v1/tokens, never an API key`;
  }
  return secret.startsWith(ACCESS_TOKEN_PREFIX) ? "invalid token" : "invalid API key";
}

/**
 * 403 unless a channel-narrowed principal may touch `channel`. `undefined` (a list or stream
 * across every channel) is refused to a narrowed token: it must name one of its channels.
 */
export function allowChannel(principal: Principal, channel: string | undefined): void {
  if (!principal.channels) return;
  if (channel === undefined || !principal.channels.has(channel)) {
    throw new HttpError(
      "forbidden",
      channel === undefined
        ? "this token is narrowed to channels; name one of them (channel=…)"
        : `this token may not use channel "${channel}"`,
      { channels: [...principal.channels] },
    );
  }
}

/**
 * 403 when a channel-narrowed principal publishes an event on an intent: the event would join the
 * intent's log and reach its streams and its assignees, all of which such a token may not touch
 * (every intent and agent route refuses it).
 */
export function allowIntentEvent(principal: Principal, intentId: string | undefined): void {
  if (principal.channels && intentId !== undefined) {
    throw new HttpError(
      "forbidden",
      "this token is narrowed to channels; it cannot publish events on an intent (intentId)",
      { channels: [...principal.channels] },
    );
  }
}

/** The authenticated caller of a scoped route. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) {
    // Only reachable if a route forgot `config.scope`: refuse rather than serve unauthenticated.
    throw new HttpError("unauthorized", "authentication required");
  }
  return request.principal;
}
