import { REDACT } from "./capture-rules.js";
import type { CapturePolicy } from "./capture-unchanged.js";

/**
 * Secrets inside JSON text. Frameworks hand tool results (and the tool messages of the next
 * prompt) to us as the JSON string the tool's return became (`"{\"apiKey\":\"sk-…\"}"`), where
 * key-based redaction never looks. A string that may hold such a key is redacted inside: parsed
 * (a string that parses to a string, JSON encoded twice, is looked into again), its objects
 * captured like a payload, and written back as JSON; text that does not parse (cut short, or not
 * JSON after all) has `"key": value` pairs under secret-looking keys replaced in place.
 *
 * Node only (`platform.ts`): a page's bundle, which counts its bytes, leaves strings as they are.
 */

/** A key-value separator and a word of a secret-looking key: only such text is looked into. */
const PAIR_SEPARATOR = '":';
const SECRET_HINT = /auth|pass|secret|token|key|cookie|credential|bearer|jwt/i;
/** Nested encodings looked into: `JSON.stringify` applied this many times over. */
const MAX_ENCODINGS = 3;
/**
 * Text longer than this is not parsed (`emit()` stays cheap whatever a tool returned): its first
 * this many characters, far more than capture keeps of a string (4 KiB by default), have their
 * pairs redacted in place, and the rest is left for the cut.
 */
const MAX_PARSED_CHARS = 64 * 1024;
/**
 * `"key": value` in JSON text: a string (perhaps cut short), or a scalar up to the next `,` `}`
 * `]`; an object or array value is not taken, so the pairs inside it are matched on their own.
 */
const PAIR = /"((?:[^"\\]|\\.){1,200})"(\s*:\s*)("(?:[^"\\]|\\.)*"?|[^,{}[\]]*)/g;

/** Whether {@link scrubJsonText} could change `text` (a quick test on the text alone). */
export function mayHoldJsonSecret(text: string): boolean {
  if (text.length < 4) return false;
  const head = text.length > MAX_PARSED_CHARS ? text.slice(0, MAX_PARSED_CHARS) : text;
  return head.includes(PAIR_SEPARATOR) && SECRET_HINT.test(head);
}

/**
 * `text` with the values of secret-looking keys in it redacted; `capture` redacts a parsed
 * value as a payload would be (its objects copied, secrets replaced).
 */
export function scrubJsonText(
  text: string,
  policy: CapturePolicy,
  capture: (value: unknown) => unknown,
): string {
  if (!mayHoldJsonSecret(text)) return text;
  if (text.length > MAX_PARSED_CHARS)
    return redactPairs(text.slice(0, MAX_PARSED_CHARS), policy) + text.slice(MAX_PARSED_CHARS);
  let value: unknown = text;
  let encodings = 0;
  try {
    while (typeof value === "string" && encodings < MAX_ENCODINGS) {
      const first = value.trimStart()[0];
      if (first !== "{" && first !== "[" && first !== '"') break;
      value = JSON.parse(value);
      encodings++;
    }
  } catch {
    return encodings === 0 ? redactPairs(text, policy) : text;
  }
  if (encodings === 0 || typeof value !== "object" || value === null) return text;
  let out: unknown = capture(value);
  for (let i = 0; i < encodings; i++) out = JSON.stringify(out);
  return out as string;
}

function redactPairs(text: string, policy: CapturePolicy): string {
  return text.replace(PAIR, (pair, key: string, colon: string) => {
    let name: string;
    try {
      name = JSON.parse(`"${key}"`);
    } catch {
      return pair;
    }
    return policy.keyAction(name) === REDACT ? `"${key}"${colon}"[REDACTED]"` : pair;
  });
}
