/** Bounds and key actions of content capture, shared by `capture.ts` and its Node-only check. */

/** Nesting deeper than this is almost always a framework object graph, not data. */
export const MAX_DEPTH = 12;
/** Array items and object keys kept per level: bounds the cost of one emit on a huge input. */
export const MAX_ENTRIES = 1000;

/** What to do with a key: keep it, redact its value, or (metadata mode) drop it. */
export const KEEP = 0;
export const REDACT = 1;
export const DROP = 2;
export type KeyAction = typeof KEEP | typeof REDACT | typeof DROP;
