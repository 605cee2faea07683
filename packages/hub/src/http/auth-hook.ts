import type { Scope } from "@chorus/protocol";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { bearerToken, type Principal } from "../auth.js";
import type { HubContext } from "../context.js";
import { HttpError } from "./errors.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /** Scope a route needs; routes without one (health, metrics, 404) need no key. */
    scope?: Scope;
    /** The route answers with an SSE stream and accounts for its own metrics. */
    sse?: boolean;
  }
  interface FastifyRequest {
    /** Set by the auth hook on every route that declares a scope. */
    principal: Principal | null;
  }
}

/**
 * Authenticate `Authorization: Bearer <key>` on every route that declares `config.scope`.
 * Runs in `onRequest`, before the body is read, so an unauthenticated client cannot make the
 * hub buffer 4 MiB. `admin` implies every scope.
 */
export function installAuth(app: FastifyInstance, ctx: HubContext): void {
  app.decorateRequest("principal", null);
  app.addHook("onRequest", async (request, reply) => {
    const scope = request.routeOptions.config.scope;
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
    const key = bearerToken(request.headers.authorization);
    const principal = key === undefined ? undefined : ctx.auth.authenticateKey(key);
    if (!principal) {
      ctx.authThrottle?.fail(request.ip);
      throw new HttpError(
        "unauthorized",
        key === undefined ? "missing Authorization: Bearer <api key>" : "invalid API key",
      );
    }
    if (!principal.scopes.has(scope) && !principal.scopes.has("admin")) {
      throw new HttpError("forbidden", `this key lacks the "${scope}" scope`);
    }
    request.principal = principal;
  });
}

/** The authenticated caller of a scoped route. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) {
    // Only reachable if a route forgot `config.scope`: refuse rather than serve unauthenticated.
    throw new HttpError("unauthorized", "authentication required");
  }
  return request.principal;
}
