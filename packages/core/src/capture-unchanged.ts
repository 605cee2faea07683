import {
  CAPTURE_BUDGET,
  DROP,
  type KeyAction,
  MAX_DEPTH,
  MAX_ENTRIES,
  REDACT,
} from "./capture-rules.js";
import { mayHoldJsonSecret } from "./capture-json-text.js";

/** What the check needs of a `Capture`: its (memoized) decision per key. */
export interface CapturePolicy {
  keyAction(key: string): KeyAction;
}

/** One check's inputs, and the objects from the root to the one looked at (cycles). */
interface Walk {
  policy: CapturePolicy;
  /** Top-level keys never redacted (canonical payload fields). */
  keep: ReadonlySet<string> | undefined;
  maxLength: number;
  path: object[];
  /** What is left of {@link CAPTURE_BUDGET}, charged as the copy charges it. */
  left: number;
}

/**
 * Whether content capture would leave `value` (a payload or metadata object) as it is, so that
 * `JSON.stringify(value)` is exactly the JSON of its copy: only plain objects and arrays (no
 * `toJSON`, no `__proto__` key, within the depth and entry bounds, no cycle), strings of at most
 * `maxLength`, finite numbers, booleans, null and undefined, and no key that capture drops or
 * redacts (a number, boolean or null under a secret-looking key is kept as is, as the copy keeps
 * it; `keep` names top-level keys never redacted). Never throws: a throwing getter answers false.
 *
 * Node only (`platform.ts`): a page's bundle, which counts its bytes, always copies.
 */
export function serializesUnchanged(
  value: unknown,
  policy: CapturePolicy,
  keep: ReadonlySet<string> | undefined,
  maxLength: number,
): boolean {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  // One walk is reused (emit() runs this twice per event); a getter that emits from inside a
  // check gets its own.
  const walk = spare ?? { policy, keep, maxLength, path: [], left: 0 };
  spare = undefined;
  walk.policy = policy;
  walk.keep = keep;
  walk.maxLength = maxLength;
  walk.left = CAPTURE_BUDGET - 1; // the root
  try {
    return unchangedObject(value, 0, walk);
  } catch {
    return false; // a throwing getter or a revoked proxy: the copy turns it into a marker
  } finally {
    walk.path.length = 0;
    walk.keep = undefined;
    walk.policy = NO_POLICY;
    spare = walk;
  }
}

/**
 * The walk not in use. Scratch space, not state: between checks it holds nothing of a client or
 * caller (no policy, no key set, an empty path), so clients cannot reach each other through it.
 */
let spare: Walk | undefined;
const NO_POLICY: CapturePolicy = { keyAction: () => DROP };

function unchangedObject(value: object, depth: number, walk: Walk): boolean {
  if (depth >= MAX_DEPTH || walk.path.includes(value)) return false;
  if ((value as { toJSON?: unknown }).toJSON !== undefined) return false;
  walk.path.push(value);
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype || value.length > MAX_ENTRIES)
      return false;
    for (let i = 0; i < value.length; i++) if (!unchangedValue(value[i], depth, walk)) return false;
  } else {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return false;
    // `for...in` reads V8's cached key list without allocating one (Object.keys would). It also
    // visits inherited enumerable keys, which only adds checks: the JSON holds own keys only.
    let count = 0;
    for (const key in value) {
      if (++count > MAX_ENTRIES) return false;
      if (key === "__proto__") return false; // the copy would set a prototype, not a key
      const v = (value as Record<string, unknown>)[key];
      const action = walk.policy.keyAction(key);
      if (action === DROP) return false;
      if (
        action === REDACT &&
        !(depth === 0 && walk.keep?.has(key)) &&
        v !== undefined &&
        v !== null &&
        typeof v !== "number" &&
        typeof v !== "boolean"
      )
        return false;
      if (!unchangedValue(v, depth, walk)) return false;
    }
  }
  walk.path.pop();
  return true;
}

/** One entry of an object or array at `depth`. */
function unchangedValue(v: unknown, depth: number, walk: Walk): boolean {
  // Past the budget the copy writes markers (a shared object is counted once per path, as the
  // copy and JSON.stringify visit it).
  if (--walk.left < 0) return false;
  switch (typeof v) {
    case "string":
      walk.left -= v.length >> 5;
      return v.length <= walk.maxLength && !mayHoldJsonSecret(v);
    case "number":
      return Number.isFinite(v);
    case "boolean":
    case "undefined":
      return true;
    case "object":
      return v === null || unchangedObject(v, depth + 1, walk);
    default:
      return false; // bigint, symbol, function: the copy writes a marker
  }
}
