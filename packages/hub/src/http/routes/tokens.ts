import {
  type AccessToken,
  DEFAULT_TOKEN_TTL_SECONDS,
  type Scope,
  tokenRequestSchema,
} from "@chorus/protocol";
import type { FastifyInstance } from "fastify";
import { hasScope, type Principal } from "../../auth.js";
import type { HubContext } from "../../context.js";
import { principalOf } from "../auth-hook.js";
import { HttpError } from "../errors.js";
import { parseWith } from "../validate.js";

/**
 * `POST /v1/tokens`: a short-lived token narrowed to scopes and optionally channels, for a
 * browser (the console, or a page on an allowed origin) that must not hold the API key.
 *
 * Tokens are signed (HMAC with the hub's secret), not stored: any hub sharing `CHORUS_SECRET`
 * accepts them, they cost no writes, and they cannot be revoked before they expire, which is
 * why their life is short (default 1 h, at most 24 h). Without `CHORUS_SECRET` the secret is
 * random per process, so a restart invalidates every token (a client mints again).
 *
 * Never wider than the caller: every scope asked for must be one the caller holds, a caller
 * narrowed to channels can only narrow further, and a token's expiry is capped at its minter's.
 */
export function registerTokenRoutes(app: FastifyInstance, ctx: HubContext): void {
  app.post(
    "/v1/tokens",
    { config: { scope: "any", channelChecked: true } },
    async (request, reply) => {
      const principal = principalOf(request);
      const input = parseWith(tokenRequestSchema, request.body ?? {}, "body");
      const scopes = [...new Set(input.scopes)];
      const missing = scopes.filter((s) => !hasScope(principal, s));
      if (missing.length > 0) {
        throw new HttpError(
          "forbidden",
          `a token cannot be wider than its caller, which lacks ${missing.map((s) => `"${s}"`).join(", ")}`,
          { missing },
        );
      }
      const channels = narrowChannels(principal, input.channels);
      const ttlSeconds = input.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
      const { token, expiresAt } = ctx.auth.issueAccessToken(principal, {
        scopes: scopes as Scope[],
        channels,
        ttlMs: ttlSeconds * 1000,
      });
      const body: AccessToken = {
        token,
        expiresAt: expiresAt.toISOString(),
        scopes,
        ...(channels ? { channels } : {}),
      };
      return reply.code(201).send(body);
    },
  );
}

/** The channels of the new token: those asked for, all within the caller's own if it has any. */
function narrowChannels(principal: Principal, asked: string[] | undefined): string[] | undefined {
  const own = principal.channels;
  if (!asked) return own ? [...own] : undefined;
  const unique = [...new Set(asked)];
  const outside = own ? unique.filter((c) => !own.has(c)) : [];
  if (outside.length > 0) {
    throw new HttpError("forbidden", "a token cannot be wider than its caller's channels", {
      outside,
    });
  }
  return unique;
}
