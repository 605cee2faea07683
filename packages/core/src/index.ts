export {
  type CaptureMode,
  type CaptureOptions,
  DEFAULT_MAX_STRING_LENGTH,
  isSecretKey,
  REDACTED,
  sanitize,
  sanitizeObject,
  truncateString,
} from "./capture.js";
export { backoffDelay, type BackoffPolicy } from "./backoff.js";
export type { CircuitState } from "./circuit-breaker.js";
export { classify, type ErrorClass } from "./classify.js";
export { Chorus, DEFAULT_CLOSE_TIMEOUT_MS } from "./client.js";
export {
  AuthenticationError,
  ChorusError,
  ConflictError,
  type ConnectionFailure,
  ConnectionError,
  InvalidTransitionError,
  NotFoundError,
  PayloadTooLargeError,
  PermissionError,
  RateLimitError,
  ValidationError,
} from "./errors.js";
export type { EmitEvent } from "./event-builder.js";
export type { EventsApi } from "./events-api.js";
export { newEventId, newSpanId, newTraceId, TraceIdPool } from "./ids.js";
export type {
  IntentPage,
  IntentsApi,
  KeyedWriteOptions,
  PostedIntentEvent,
  WriteOptions,
} from "./intents-api.js";
export {
  createConsoleLogger,
  type ErrorContext,
  type Logger,
  type LogLevel,
  type OnError,
} from "./logger.js";
export {
  type ChorusOptions,
  type FetchFunction,
  hubBaseUrl,
  type ResolvedOptions,
  resolveOptions,
} from "./options.js";
export type {
  Realtime,
  RealtimeCallback,
  RealtimeStatus,
  RealtimeStatusListener,
  RealtimeSubscription,
  SubscribeFields,
} from "./realtime.js";
export type { ChorusStats } from "./stats.js";
export type { StreamFilters } from "./stream.js";
export type { EventStream } from "./stream-front.js";
export type { StreamsApi } from "./streams-api.js";
export {
  currentTrace,
  formatTraceparent,
  parseTraceparent,
  registerTraceSource,
  runInTrace,
  spanFrom,
  type TraceContext,
  type TraceOptions,
  type Traceparent,
  type TraceSource,
  withTrace,
} from "./trace.js";
export type {
  AgentEndPayload,
  AgentErrorPayload,
  AgentHandoffPayload,
  AgentMessagePayload,
  AgentStartPayload,
  ErrorInfo,
  LlmEndPayload,
  LlmErrorPayload,
  LlmStartPayload,
  LlmTokenPayload,
  TokenUsage,
  ToolEndPayload,
  ToolErrorPayload,
  ToolStartPayload,
} from "@chorus/protocol";
export type {
  ChorusEvent,
  EventQuery,
  Intent,
  IntentCreate,
  IntentEventInput,
  IntentStatus,
  Page,
  PublishResult,
} from "@chorus/protocol";
export {
  EventTypes,
  IntentEventTypes,
} from "@chorus/protocol/wire";
