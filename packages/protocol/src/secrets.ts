/**
 * Which keys hold secrets, one rule for every place that stores what someone else wrote: the
 * client's content capture (`@chorus/core`) and the hub's own mapping of OTLP spans. DESIGN.md:
 * keys that look like secrets are always redacted.
 */

/** What a secret's value becomes. */
export const REDACTED = "[REDACTED]";

/**
 * Key names whose values are secrets, matched on words of the key (camelCase, snake_case,
 * kebab-case and acronyms are split: `APIToken` is `api_token`), so `inputTokens` is not a secret
 * but `accessToken` and `x-api-key` are. "token" counts only at the end, singular:
 * `refresh_token` and `SESSIONTOKEN` are secrets, `timeToFirstTokenMs` is a duration and
 * `outputTokens` a count. Password, secret, API and private keys count anywhere in the key and
 * in the plural (`PGPASSWORD`, `apiKeys`, `sshPrivateKey`).
 */
const SECRET_WORDS =
  /(^|_)(authorization|auth|passphrase|cookies?|credentials?|bearer|jwt|accesskey)(_|$)|pass(word|wd)|secret|api_?keys?|private_?keys?|token$/;
const SECRET_PAIRS = /(^|_)(api|private|access|secret|signing|client)_keys?(_|$)/;

/** A key as lowercase words joined by `_`: `APIToken` → `api_token`, `x-api-key` → `x_api_key`. */
export function normalizeKey(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_");
}

/** Whether a key's value is redacted. */
export function isSecretKey(key: string): boolean {
  const k = normalizeKey(key);
  return SECRET_WORDS.test(k) || SECRET_PAIRS.test(k);
}

/** A key-value separator and a word of a secret-looking key: only such JSON text is looked into. */
const SECRET_HINT = /auth|pass|secret|token|key|cookie|credential|bearer|jwt/i;
/** JSON text longer than this is left as it is (the hub's mapping cut strings long before). */
const MAX_SCANNED_TEXT = 64 * 1024;

/**
 * A copy of JSON data (what `JSON.parse` gives: objects, arrays, strings, numbers, booleans,
 * null) with the value of every secret-looking key replaced by {@link REDACTED}, as the client's
 * capture does: numbers, booleans and null are kept (a count or a flag is no secret), and a
 * string that is JSON text holding such a key (a tool result passed on as text) is redacted
 * inside and written back as JSON. Data the hub took apart itself, so no cycles and no exotic
 * objects; nesting is bounded by the parser that made it.
 */
export function redactSecrets(value: unknown): unknown {
  if (typeof value === "string") return redactJsonText(value);
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map(redactSecrets);
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const kept =
      isSecretKey(key) && v !== null && typeof v !== "number" && typeof v !== "boolean"
        ? REDACTED
        : redactSecrets(v);
    // An own `__proto__` key (JSON.parse makes one) stays a key, not the copy's prototype.
    Object.defineProperty(out, key, {
      value: kept,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

function redactJsonText(text: string): string {
  if (text.length > MAX_SCANNED_TEXT || !text.includes('":') || !SECRET_HINT.test(text))
    return text;
  const first = text.trimStart()[0];
  if (first !== "{" && first !== "[") return text;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return text;
  }
  return typeof parsed === "object" && parsed !== null
    ? JSON.stringify(redactSecrets(parsed))
    : text;
}
