import type { Authenticator } from "./auth.js";
import type { AuthFailureThrottle } from "./auth-throttle.js";
import type { EventBus } from "./bus.js";
import type { HubLogger, ResolvedHubConfig } from "./config.js";
import type { HubMetrics } from "./metrics.js";
import type { Store } from "./store/types.js";

/** What every part of one hub shares. Passed explicitly; nothing lives at module scope. */
export interface HubContext {
  config: ResolvedHubConfig;
  store: Store;
  bus: EventBus;
  auth: Authenticator;
  /** Failed authentications per remote address; undefined when the limit is off. */
  authThrottle: AuthFailureThrottle | undefined;
  metrics: HubMetrics;
  logger: HubLogger;
  /** Where the HTTP and MQTT listeners ended up (filled in as they start). */
  addresses: { httpPort: number; mqttPort: number | undefined; host: string };
  /** Set once shutdown begins: SSE streams end, new requests get 503. */
  closing: AbortSignal;
}
