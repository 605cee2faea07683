import { MAX_JSON_DEPTH } from "@chorus/protocol";

/** Why a JSON text was refused; the HTTP parser and MQTT ingest map it to their own answers. */
export class JsonTextError extends Error {
  readonly reason: "invalid_json" | "too_deep" | "proto_key" | "non_finite";
  constructor(reason: JsonTextError["reason"], message: string) {
    super(message);
    this.name = "JsonTextError";
    this.reason = reason;
  }
}

/**
 * Parse a JSON text the hub received (HTTP body or MQTT payload), before anything walks it:
 * - nesting deeper than {@link MAX_JSON_DEPTH} is refused by a flat scan of the text, because
 *   every later step (size, schema, merge patch) recurses and would overflow the stack;
 * - `__proto__` keys are refused: merging one (merge patch, spreads) would swap an object's
 *   prototype;
 * - a number too large for a double (`1e400`) is refused: `JSON.parse` makes it `Infinity`,
 *   which every later `JSON.stringify` writes as `null`, and in a merge patch `null` deletes:
 *   the log would say something else than the write did.
 * The reviver costs time, so it only runs when the text could hold one of the last two (the
 * scan flags an exponent or a run of digits long enough to overflow).
 * Blank text is `undefined`.
 */
export function parseJsonText(text: string): unknown {
  if (text.trim() === "") return undefined;
  const scan = scanJsonText(text, MAX_JSON_DEPTH);
  if (scan === TOO_DEEP) {
    throw new JsonTextError(
      "too_deep",
      `JSON is nested deeper than ${MAX_JSON_DEPTH} levels (objects and arrays)`,
    );
  }
  try {
    if (scan !== BIG_NUMBER && !/__proto__|\\u/.test(text)) return JSON.parse(text);
    return JSON.parse(text, (key, value: unknown) => {
      if (key === "__proto__") throw new ProtoKey();
      if (typeof value === "number" && !Number.isFinite(value)) throw new NonFinite();
      return value;
    });
  } catch (error) {
    if (error instanceof ProtoKey) {
      throw new JsonTextError("proto_key", "keys named __proto__ are not accepted");
    }
    if (error instanceof NonFinite) {
      throw new JsonTextError(
        "non_finite",
        "a number is too large to be held (beyond ±1.8e308); send it as a string",
      );
    }
    throw new JsonTextError("invalid_json", `not valid JSON: ${(error as Error).message}`);
  }
}

class ProtoKey extends Error {}
class NonFinite extends Error {}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const LOWER_E = 0x65;
const UPPER_E = 0x45;
/** Digits in a row (exponent aside) from which a JSON number could exceed a double. */
const OVERFLOW_DIGITS = 300;

const PLAIN = 0;
const TOO_DEEP = 1;
const BIG_NUMBER = 2;

/**
 * One pass over `text`, strings skipped, no recursion: {@link TOO_DEEP} when it opens more than
 * `limit` objects or arrays inside one another, else {@link BIG_NUMBER} when a number has an
 * exponent (an `e` right after a digit: `true` and `false` put theirs after a letter) or a run
 * of digits long enough to overflow, else {@link PLAIN}. Malformed text is left to JSON.parse.
 */
function scanJsonText(text: string, limit: number): number {
  let depth = 0;
  let inString = false;
  let digits = 0;
  let result = PLAIN;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    if (c >= DIGIT_0 && c <= DIGIT_9) {
      if (++digits >= OVERFLOW_DIGITS) result = BIG_NUMBER;
      continue;
    }
    if ((c === LOWER_E || c === UPPER_E) && digits > 0) result = BIG_NUMBER;
    digits = 0;
    if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > limit) return TOO_DEEP;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return result;
}
