import { MAX_JSON_DEPTH } from "@chorus/protocol";

/** Why a JSON text was refused; the HTTP parser and MQTT ingest map it to their own answers. */
export class JsonTextError extends Error {
  readonly reason: "invalid_json" | "too_deep" | "proto_key";
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
 *   prototype. The reviver costs time, so it only runs when the text could hold one.
 * Blank text is `undefined`.
 */
export function parseJsonText(text: string): unknown {
  if (text.trim() === "") return undefined;
  const depth = nestingExceeds(text, MAX_JSON_DEPTH);
  if (depth) {
    throw new JsonTextError(
      "too_deep",
      `JSON is nested deeper than ${MAX_JSON_DEPTH} levels (objects and arrays)`,
    );
  }
  try {
    if (!/__proto__|\\u/.test(text)) return JSON.parse(text);
    return JSON.parse(text, (key, value: unknown) => {
      if (key === "__proto__") throw new ProtoKey();
      return value;
    });
  } catch (error) {
    if (error instanceof ProtoKey) {
      throw new JsonTextError("proto_key", "keys named __proto__ are not accepted");
    }
    throw new JsonTextError("invalid_json", `not valid JSON: ${(error as Error).message}`);
  }
}

class ProtoKey extends Error {}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

/**
 * True when `text` opens more than `limit` objects or arrays inside one another, brackets in
 * strings not counted. One pass, no recursion; malformed text is left to JSON.parse.
 */
export function nestingExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > limit) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}
