import type { Authenticator } from "./auth.js";
import type { AuthFailureThrottle } from "./auth-throttle.js";
import type { TrustProxy } from "./client-address.js";
import type { HubLogger, ResolvedHubConfig } from "./config.js";
import type { CommitSignal } from "./delivery/commit-signal.js";
import type { DeliveryEngine } from "./delivery/engine.js";
import type { HubMetrics } from "./metrics.js";
import type { DynsecProvisioner } from "./mqtt/dynsec.js";
import type { Presence } from "./presence.js";
import type { StorageTrouble } from "./storage-trouble.js";
import type { Store } from "./store/types.js";

/** What every part of one hub shares. Passed explicitly; nothing lives at module scope. */
export interface HubContext {
  config: ResolvedHubConfig;
  store: Store;
  /** Writers say "seq N committed" here; the delivery tail listens. */
  commits: CommitSignal;
  /** The shared tail, SSE index, send buffers and stream caps. */
  delivery: DeliveryEngine;
  auth: Authenticator;
  /** Failed authentications per remote address; undefined when the limit is off. */
  authThrottle: AuthFailureThrottle | undefined;
  /** Which proxies' `X-Forwarded-For` to believe (HTTP and WebSocket alike); false for none. */
  trustProxy: TrustProxy | false;
  metrics: HubMetrics;
  /** Agents holding their agent stream, on this hub and the others of its store (`GET /v1/agents`). */
  presence: Presence;
  logger: HubLogger;
  /** Where the HTTP and MQTT listeners ended up (filled in as they start). */
  addresses: { httpPort: number; mqttPort: number | undefined; host: string };
  /** With an external broker: where realtime credentials are provisioned (set as it connects). */
  mqttProvisioner?: DynsecProvisioner;
  /** Set once shutdown begins: SSE streams end, new requests get 503. */
  closing: AbortSignal;
  /**
   * With retention: the lowest seq the store still holds, refreshed after each pruning round
   * (every hub of a store refreshes it; one prunes). A reader resuming below it missed what
   * retention deleted, and is told so (`oldest` on `chorus.ready` and on event pages). 0 without
   * retention.
   */
  retained: { oldest: number };
  /** Storage failures of storage's own making (503s), for the log and `/readyz`. */
  storageTrouble: StorageTrouble;
}
