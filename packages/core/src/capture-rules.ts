/** Bounds and key actions of content capture, shared by `capture.ts` and its Node-only check. */

/** Nesting deeper than this is almost always a framework object graph, not data. */
export const MAX_DEPTH = 12;
/** Array items and object keys kept per level: bounds the cost of one emit on a huge input. */
export const MAX_ENTRIES = 1000;

/**
 * Values one capture visits (a string also costs its kept length / 32); past it every value is
 * `…[truncated]`. An object reached along many paths (a state snapshot referencing the same
 * message list from every step) is copied once per path, so a few KB of shared objects could
 * stand for billions of values and block `emit()` for minutes. A payload past it has a JSON of
 * over 512 KiB, twice what an event may hold (`MAX_EVENT_BYTES`), so no event that could be
 * sent whole loses anything to it; emit() of a payload past it takes about a tenth of a second
 * (80 ms warm, 120 ms in a fresh process, on the 2-core machine).
 */
export const CAPTURE_BUDGET = 2 ** 18;

/** What to do with a key: keep it, redact its value, or (metadata mode) drop it. */
export const KEEP = 0;
export const REDACT = 1;
export const DROP = 2;
export type KeyAction = typeof KEEP | typeof REDACT | typeof DROP;

/**
 * 4 KiB keeps a typical prompt or tool result readable while bounding one event's size. Here,
 * in a module that imports nothing, so that options.ts can read it without importing capture.ts
 * (whose platform import leads back to options.ts: a cycle that left this constant
 * uninitialized when `src/index.ts` was loaded as source).
 */
export const DEFAULT_MAX_STRING_LENGTH = 4096;
