/**
 * Content capture: turns whatever a caller (or a framework adapter) hands to `emit()` into a
 * JSON-safe copy that is bounded in size and never carries secrets. It never throws: circular
 * references, throwing getters, BigInt, functions and exotic objects become readable markers.
 */

export type CaptureMode = "full" | "metadata";

export interface CaptureOptions {
  /** `"metadata"` drops prompt and completion text (see {@link CONTENT_KEYS}). */
  mode: CaptureMode;
  /** Strings longer than this are cut, with a marker saying how much was cut. */
  maxStringLength: number;
}

/** 4 KiB keeps a typical prompt or tool result readable while bounding one event's size. */
export const DEFAULT_MAX_STRING_LENGTH = 4096;
/** Nesting deeper than this is almost always a framework object graph, not data. */
export const MAX_DEPTH = 12;
/** Array items and object keys kept per level: bounds the cost of one emit on a huge input. */
export const MAX_ENTRIES = 1000;
export const REDACTED = "[REDACTED]";

/**
 * Key names whose values are secrets, matched on words of the key (camelCase, snake_case and
 * kebab-case are split), so `inputTokens` is not a secret but `accessToken` and `x-api-key` are.
 */
const SECRET_WORDS = /(^|_)(authorization|auth|password|passwd|passphrase|secret|token|cookie|cookies|credential|credentials|bearer|jwt|apikey|privatekey|accesskey|secretkey)(_|$)/;
const SECRET_PAIRS = /(^|_)(api|private|access|secret|signing|client)_key(_|$)/;

/** Payload keys holding prompt or completion text; dropped in `"metadata"` mode. */
export const CONTENT_KEYS: ReadonlySet<string> = new Set([
  "input",
  "inputs",
  "output",
  "outputs",
  "prompt",
  "prompts",
  "messages",
  "message",
  "completion",
  "completions",
  "content",
  "contents",
  "text",
  "response",
  "result",
  "results",
  "arguments",
  "args",
  "instructions",
  "system",
  "query",
  "documents",
  "chunk",
  "delta",
  "generations",
  "choices",
]);

function normalizeKey(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_");
}

/** Whether a key's value is redacted. Exported for adapters that build headers or env maps. */
export function isSecretKey(key: string): boolean {
  const k = normalizeKey(key);
  return SECRET_WORDS.test(k) || SECRET_PAIRS.test(k);
}

function isContentKey(key: string): boolean {
  return CONTENT_KEYS.has(key) || CONTENT_KEYS.has(normalizeKey(key));
}

/** Cut a string at `max` characters (not inside a surrogate pair) with a marker. */
export function truncateString(value: string, max: number): string {
  if (value.length <= max) return value;
  let end = Math.max(0, max);
  const code = value.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return `${value.slice(0, end)}…[truncated ${value.length - end} chars]`;
}

/**
 * A JSON-safe, bounded, redacted copy of `value`. Object keys that look like secrets are replaced
 * by {@link REDACTED} whatever their value; in `"metadata"` mode, {@link CONTENT_KEYS} are removed.
 */
export function sanitize(value: unknown, options: CaptureOptions): unknown {
  return copy(value, options, 0, new WeakSet<object>());
}

/** {@link sanitize} for a payload or metadata field: always an object (a non-object is wrapped as `{ value }`). */
export function sanitizeObject(value: unknown, options: CaptureOptions): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  const out = copy(value, options, 0, new WeakSet<object>());
  if (typeof out === "object" && out !== null && !Array.isArray(out)) return out as Record<string, unknown>;
  return { value: out };
}

function copy(value: unknown, options: CaptureOptions, depth: number, seen: WeakSet<object>): unknown {
  switch (typeof value) {
    case "string":
      return value.length > options.maxStringLength ? truncateString(value, options.maxStringLength) : value;
    case "number":
      return Number.isFinite(value) ? value : String(value);
    case "boolean":
      return value;
    case "bigint":
      return value.toString();
    case "undefined":
      return undefined;
    case "symbol":
      return value.toString();
    case "function":
      return `[Function ${(value as { name?: string }).name || "anonymous"}]`;
  }
  if (value === null) return null;
  const object = value as object;
  if (seen.has(object)) return "[Circular]";
  if (depth >= MAX_DEPTH) return "[MaxDepth]";
  seen.add(object);
  try {
    return copyObject(object, options, depth, seen);
  } catch (error) {
    return `[Unserializable: ${describe(error)}]`;
  } finally {
    // Only ancestors count as cycles: the same object twice in siblings is copied twice.
    seen.delete(object);
  }
}

function copyObject(object: object, options: CaptureOptions, depth: number, seen: WeakSet<object>): unknown {
  if (object instanceof Date) return Number.isNaN(object.getTime()) ? "Invalid Date" : object.toISOString();
  if (object instanceof Error) return copyError(object, options, depth, seen);
  if (ArrayBuffer.isView(object)) return `[${object.constructor.name} ${object.byteLength} bytes]`;
  if (object instanceof ArrayBuffer) return `[ArrayBuffer ${object.byteLength} bytes]`;
  if (object instanceof RegExp) return object.toString();
  if (object instanceof Promise || object instanceof WeakMap || object instanceof WeakSet) {
    return `[${object.constructor.name}]`;
  }
  if (Array.isArray(object) || object instanceof Set) {
    return copyArray(Array.from(object as Iterable<unknown>), options, depth, seen);
  }
  if (object instanceof Map) {
    return copyEntries(object.entries(), options, depth, seen);
  }
  const toJSON = (object as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === "function") {
    return copy(toJSON.call(object), options, depth + 1, seen);
  }
  return copyEntries(ownEntries(object), options, depth, seen);
}

function copyArray(items: unknown[], options: CaptureOptions, depth: number, seen: WeakSet<object>): unknown[] {
  const n = Math.min(items.length, MAX_ENTRIES);
  const out: unknown[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const v = copy(items[i], options, depth + 1, seen);
    out[i] = v === undefined ? null : v;
  }
  if (items.length > MAX_ENTRIES) out.push(`…[${items.length - MAX_ENTRIES} more items]`);
  return out;
}

function* ownEntries(object: object): Iterable<[string, unknown]> {
  for (const key of Object.keys(object)) {
    let v: unknown;
    try {
      v = (object as Record<string, unknown>)[key];
    } catch (error) {
      v = `[Unserializable: ${describe(error)}]`;
    }
    yield [key, v];
  }
}

function copyEntries(
  entries: Iterable<[unknown, unknown]>,
  options: CaptureOptions,
  depth: number,
  seen: WeakSet<object>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let count = 0;
  let skipped = 0;
  for (const [rawKey, v] of entries) {
    if (count >= MAX_ENTRIES) {
      skipped++;
      continue;
    }
    const key = typeof rawKey === "string" ? rawKey : String(rawKey);
    if (options.mode === "metadata" && isContentKey(key)) continue;
    count++;
    if (isSecretKey(key)) {
      out[key] = REDACTED;
      continue;
    }
    const copied = copy(v, options, depth + 1, seen);
    if (copied !== undefined) out[key] = copied;
  }
  if (skipped > 0) out["…"] = `[${skipped} more keys]`;
  return out;
}

function copyError(error: Error, options: CaptureOptions, depth: number, seen: WeakSet<object>): Record<string, unknown> {
  const out: Record<string, unknown> = { name: error.name, message: copy(error.message, options, depth + 1, seen) };
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" || typeof code === "number") out.code = code;
  if (typeof error.stack === "string") out.stack = copy(error.stack, options, depth + 1, seen);
  return out;
}

function describe(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error);
  } catch {
    return "unknown error";
  }
}
