/**
 * The codes of Node's socket errors, which its `fetch` wraps. A browser's `fetch` reports none
 * (a `TypeError` whatever happened), so `platform.browser.ts` leaves this out of a page's bundle.
 */

/** Error codes of a connection that never carried the request: resending it cannot duplicate anything. */
export const NOT_SENT_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/** `fetch` wraps socket errors: the code is on the error or its cause (or the cause's cause). */
export function socketErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let i = 0; i < 4 && current && typeof current === "object"; i++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
    const errors = (current as { errors?: unknown }).errors;
    if (Array.isArray(errors) && errors.length > 0) current = errors[0];
    else current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
