import * as z from "zod/mini";
import "./zod.js";

export const SCOPES = ["publish", "subscribe", "read", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

/** Answer of `POST /v1/realtime/credentials`. */
export interface RealtimeCredentials {
  /** `mqtt://host:port` of the TCP listener; absent when the hub runs without one. */
  url?: string;
  /** `ws://host:port/mqtt` of the WebSocket listener. */
  wsUrl: string;
  username: string;
  password: string;
  clientId: string;
  /** `chorus/{org}/`: every topic the credentials may use starts here (or with `chorus-in/{org}/`). */
  topicPrefix: string;
  expiresAt: string;
}

export const realtimeCredentialsRequestSchema = z.strictObject({
  /** Seconds the credentials stay valid; the hub caps it. */
  ttlSeconds: z.optional(z.number().check(z.int(), z.minimum(10), z.maximum(24 * 3600))),
  clientId: z.optional(
    z.string().check(z.minLength(1), z.maxLength(100), z.regex(/^[A-Za-z0-9_.-]+$/)),
  ),
  /**
   * Narrow the credentials (e.g. `["subscribe"]`: the broker refuses every publish); each scope
   * must be one the caller holds. Default: the caller's scopes.
   */
  scopes: z.optional(z.array(z.enum(SCOPES)).check(z.minLength(1), z.maxLength(SCOPES.length))),
});
export type RealtimeCredentialsRequest = z.infer<typeof realtimeCredentialsRequestSchema>;
