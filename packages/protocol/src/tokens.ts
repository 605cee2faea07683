import { SCOPES } from "./realtime.js";
import { nameSchema } from "./schemas.js";
import * as z from "zod/mini";
import "./zod.js";

/** Longest life of a token from `POST /v1/tokens`: a day. */
export const MAX_TOKEN_TTL_SECONDS = 24 * 3600;
/** Life of a token when the request names none: an hour. */
export const DEFAULT_TOKEN_TTL_SECONDS = 3600;
/** Channels one token may be narrowed to. */
export const MAX_TOKEN_CHANNELS = 100;

/** Body of `POST /v1/tokens`: what the token may do, and for how long. */
export const tokenRequestSchema = z.strictObject({
  scopes: z.array(z.enum(SCOPES)).check(z.minLength(1), z.maxLength(SCOPES.length)),
  /** Channels the token may read or publish on; absent: every channel the caller may use. */
  channels: z.optional(z.array(nameSchema).check(z.minLength(1), z.maxLength(MAX_TOKEN_CHANNELS))),
  ttlSeconds: z.optional(
    z.number().check(z.int(), z.minimum(10), z.maximum(MAX_TOKEN_TTL_SECONDS)),
  ),
});
export type TokenRequest = z.infer<typeof tokenRequestSchema>;

/** Answer of `POST /v1/tokens`. */
export interface AccessToken {
  token: string;
  expiresAt: string;
  scopes: string[];
  channels?: string[];
}
