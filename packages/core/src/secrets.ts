import type { ErrorContext, Logger, OnError } from "./logger.js";
import type { ResolvedOptions } from "./options.js";

/*
 * The API key of a Node client: refused at construction when no request could carry it, and
 * kept out of what the client logs. Node only (`platform.ts`): a page's bundle counts its bytes,
 * its `fetch` refuses such a key itself, and its key is in its source anyway.
 */

/**
 * A character an HTTP header value cannot carry (Node's rule; a browser's `fetch` refuses the
 * same): anything but tab, printable ASCII and Latin-1, so a control character, a line break (a
 * key file's trailing newline) or a character outside Latin-1.
 */
const NOT_IN_HEADER = /[^\t\x20-\x7e\x80-\xff]/;

/** What logs show of the API key: enough to tell two keys apart, too little to use one. */
const SHOWN_KEY_CHARS = 4;
/**
 * A key shorter than this is not looked for: so short a string turns up in ordinary text (the
 * tests' `"k"`), and masking it would garble every message without hiding a real secret.
 */
const MIN_MASKED_KEY_LENGTH = 8;
/**
 * The password of `user:password@host`, in a URL or in a mistyped one without a scheme: from
 * the colon to the `@`, with no slash, space or comma between (a port or a path has one).
 */
const URL_PASSWORD = /:[^@/\s,]*@/g;

/** `text` with the client's API key (`sk-a…`) and any URL's password (`:***@`) masked. */
export function maskText(text: string, apiKey: string | undefined): string {
  let out = text.replace(URL_PASSWORD, ":***@");
  if (apiKey !== undefined && apiKey.length >= MIN_MASKED_KEY_LENGTH && out.includes(apiKey))
    out = out.replaceAll(apiKey, `${apiKey.slice(0, SHOWN_KEY_CHARS)}…`);
  return out;
}

/**
 * Why `apiKey` cannot be sent as `Authorization: Bearer …`, or `undefined` when it can. Such a
 * key failed every request before it left the process, which read as a hub outage (retries, an
 * open circuit, fail-open answers) though it is a mistake in the options. The message names the
 * character and where it is, never the key.
 */
export function apiKeyProblem(apiKey: unknown): string | undefined {
  if (typeof apiKey !== "string") return undefined;
  const at = apiKey.search(NOT_IN_HEADER);
  if (at < 0) return undefined;
  const code = (apiKey.codePointAt(at) as number).toString(16).toUpperCase().padStart(4, "0");
  return `apiKey has a character an HTTP header cannot carry (U+${code} at index ${at}: a control character, a line break or one outside Latin-1); sending no key`;
}

/**
 * What a new client does with its key: one it cannot send is dropped, with its problem added to
 * the options' `problems` (reported once, like any bad option; the hub then answers 401, a
 * caller error, instead of every request failing as if the hub were down); and its logger and
 * `onError` get what they are handed with the key masked (see {@link maskSecrets}).
 */
export function guardSecrets(
  resolved: ResolvedOptions,
  problems: string[],
  logger: Logger,
  onError: OnError | undefined,
): [Logger, OnError | undefined] {
  const problem = apiKeyProblem(resolved.apiKey);
  if (problem !== undefined) {
    problems.push(problem);
    resolved.apiKey = undefined;
  }
  return maskSecrets(logger, onError, resolved.apiKey);
}

/**
 * A client's logger and `onError`, given what they are handed with its API key and URLs'
 * passwords masked: messages, string fields and an error's message. The hub never echoes a key,
 * but a proxy or WAF in front of it may (`rejected request with header authorization=Bearer
 * sk-…`), and a URL option with `user:password@` is printed when it is refused.
 */
export function maskSecrets(
  logger: Logger,
  onError: OnError | undefined,
  apiKey: string | undefined,
): [Logger, OnError | undefined] {
  const mask = (text: string) => maskText(text, apiKey);
  const maskFields = <T extends Record<string, unknown> | undefined>(fields: T): T =>
    fields &&
    (Object.fromEntries(
      Object.entries(fields).map(([k, v]) => [k, typeof v === "string" ? mask(v) : v]),
    ) as T);
  const masked = {} as Logger;
  for (const level of ["debug", "info", "warn", "error"] as const) {
    masked[level] = (message, fields) => logger[level](mask(message), maskFields(fields));
  }
  const report =
    onError &&
    ((error: unknown, context: ErrorContext) => {
      const message = error instanceof Error ? mask(error.message) : undefined;
      if (message !== undefined && message !== (error as Error).message) {
        try {
          (error as Error).message = message;
        } catch {
          // a frozen error keeps its message
        }
      }
      onError(error, maskFields(context));
    });
  return [masked, report];
}
