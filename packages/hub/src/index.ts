export { type ApiKeyConfig, parseApiKeys } from "./auth.js";
export {
  DEFAULT_DB,
  DEFAULT_HOST,
  DEFAULT_MQTT_PORT,
  DEFAULT_PORT,
  type HubLogger,
  type HubOptions,
  DURATION_UNITS,
  parseDuration,
  parseRateLimit,
  parseTrustProxy,
  type RateLimit,
  type ResolvedHubConfig,
  resolveHubConfig,
} from "./config.js";
export { createHub, type Hub } from "./hub.js";
export {
  decodeOtlpTraces,
  MAX_OTLP_SPANS,
  OtlpDecodeError,
  type OtlpFormat,
  otlpFormatOf,
} from "./otlp/decode.js";
export {
  decodeOtlpTraceResponse,
  encodeOtlpTraceResponse,
  type OtlpTraceResponse,
} from "./otlp/response.js";
export { SqliteStore } from "./store/sqlite.js";
export type * from "./store/types.js";
