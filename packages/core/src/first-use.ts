/*
 * What the browser entry loads on first use, as ONE chunk (`platform.browser.ts`): the protocol's
 * schemas with zod and the awaited APIs that validate with them, the SSE stream with its client,
 * and the realtime client (mqtt.js itself stays a chunk of its own, loaded on `connect()`).
 *
 * One chunk rather than one per feature because of what a page loads up front: a bundler puts
 * the modules that several lazy chunks share with the entry (errors, fail-open, backoff, ...)
 * into extra shared chunks that the entry imports statically, and each extra file costs its own
 * gzip overhead. With one lazy chunk, those modules stay in the entry. Node never loads this
 * module: `platform.ts` imports each part directly.
 */
export * from "./protocol-schemas.js";
export { readText } from "./read-text.js";
export { RealtimeClient } from "./realtime-client.js";
export * from "./stream.js";
export { EventSource } from "eventsource";
