/*
 * `@chorus/protocol/wire`: the part of the contract without schemas, so without zod: error
 * codes, event type names, headers, limits, id patterns, SSE names and the MQTT topic codec.
 * A browser bundle that imports only these (the browser entry of @chorus/core) carries no zod;
 * a bundler cannot leave the schemas out of the main entry, which re-exports them.
 */
export * from "./content.js";
export * from "./errors.js";
export * from "./event-types.js";
export * from "./headers.js";
export * from "./limits.js";
export * from "./oversize.js";
export * from "./patterns.js";
export * from "./secrets.js";
export * from "./sse.js";
export * from "./topics.js";
