export * from "./errors.js";
export * from "./event-types.js";
export * from "./intents.js";
export * from "./limits.js";
export type * from "./payloads.js";
export * from "./realtime.js";
export * from "./schemas.js";
export * from "./sse.js";
export * from "./topics.js";
