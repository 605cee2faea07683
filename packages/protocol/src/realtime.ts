import { z } from "zod";

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
  ttlSeconds: z
    .number()
    .int()
    .min(10)
    .max(24 * 3600)
    .optional(),
  clientId: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[A-Za-z0-9_.-]+$/)
    .optional(),
});
export type RealtimeCredentialsRequest = z.infer<typeof realtimeCredentialsRequestSchema>;

export const SCOPES = ["publish", "subscribe", "read", "admin"] as const;
export type Scope = (typeof SCOPES)[number];
