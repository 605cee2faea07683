/*
 * Patterns the client checks on its hot path without the schemas: a module of their own, free
 * of zod, so a bundle that needs only these (the browser entry of @chorus/core) leaves zod out.
 */

/** A W3C trace-id: 32 lowercase hex characters. */
export const TRACE_ID_PATTERN = /^[0-9a-f]{32}$/;
/** A W3C span-id: 16 lowercase hex characters. */
export const SPAN_ID_PATTERN = /^[0-9a-f]{16}$/;
