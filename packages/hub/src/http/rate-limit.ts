import rateLimit from "@fastify/rate-limit";
import type { FastifyInstance } from "fastify";
import type { HubContext } from "../context.js";
import { HttpError } from "./errors.js";

/**
 * Per-key request limit (`ctx.config.rateLimit`), answered with 429 `rate_limited` and a
 * `Retry-After` header, which the Chorus client honours. Counted in `preParsing`: after the auth
 * hook has named the key (so one key cannot starve another) and before a body is read. Routes
 * without a key (health, metrics, unknown paths) are not counted; they do no work worth
 * limiting.
 */
export async function installRateLimit(app: FastifyInstance, ctx: HubContext): Promise<void> {
  const limit = ctx.config.rateLimit;
  if (!limit) return;
  await app.register(rateLimit, {
    global: true,
    hook: "preParsing",
    max: limit.max,
    timeWindow: limit.windowMs,
    keyGenerator: (request) => request.principal?.keyId ?? request.ip,
    allowList: (request) => request.principal === null,
    errorResponseBuilder: (_request, context) =>
      new HttpError(
        "rate_limited",
        `more than ${context.max} requests per ${Math.round(limit.windowMs / 1000)} s with this key; retry in ${context.after}`,
        { limit: context.max, windowMs: limit.windowMs, retryAfterMs: context.ttl },
      ),
  });
}
