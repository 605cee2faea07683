/**
 * Content capture: turns whatever a caller (or a framework adapter) hands to `emit()` into a
 * JSON-safe copy that is bounded in size and never carries secrets. It never throws: circular
 * references, throwing getters, BigInt, functions and exotic objects become readable markers.
 */

import { CONTENT_KEYS, isSecretKey, normalizeKey, REDACTED } from "@chorus/protocol/wire";
import {
  CAPTURE_BUDGET,
  DROP,
  KEEP,
  type KeyAction,
  MAX_DEPTH,
  MAX_ENTRIES,
  REDACT,
} from "./capture-rules.js";

import { scrubJsonText, serializesUnchanged } from "./platform.js";

export { CAPTURE_BUDGET, MAX_DEPTH, MAX_ENTRIES } from "./capture-rules.js";

export type CaptureMode = "full" | "metadata";

export interface CaptureOptions {
  /** `"metadata"` drops prompt and completion text (see {@link CONTENT_KEYS}). */
  mode: CaptureMode;
  /** Strings longer than this are cut, with a marker saying how much was cut. */
  maxStringLength: number;
}

export { DEFAULT_MAX_STRING_LENGTH } from "./capture-rules.js";
export { CONTENT_KEYS, isSecretKey, REDACTED };
/** Key classifications remembered per client; key names repeat, so this stays warm. */
const KEY_CACHE_SIZE = 2048;

/**
 * Top-level payload fields of canonical event types that are data by definition even though
 * their name looks like a secret: `llm.token` carries the streamed token as `token`.
 */
export const CANONICAL_PAYLOAD_FIELDS: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ["llm.token", new Set(["token"])],
]);

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
 * A capture policy with its own memo of key decisions (one per client: no shared state).
 * {@link Capture.object} is the entry point `emit()` uses for payload and metadata.
 */
export class Capture {
  readonly #options: CaptureOptions;
  readonly #keys = new Map<string, KeyAction>();
  /** Top-level keys exempt from redaction during the current {@link object} call. */
  #keepTopLevel: ReadonlySet<string> | undefined;
  /** What is left of {@link CAPTURE_BUDGET} in the current {@link value} or {@link object} call. */
  #left = 0;

  constructor(options: CaptureOptions) {
    this.#options = options;
  }

  /**
   * A JSON-safe, bounded, redacted copy of `value`. Object keys that look like secrets are
   * replaced by {@link REDACTED} whatever their value; in `"metadata"` mode {@link CONTENT_KEYS}
   * are removed.
   */
  value(value: unknown): unknown {
    this.#left = CAPTURE_BUDGET;
    return this.#copy(value, 0, []);
  }

  /**
   * {@link value} for a payload or metadata field: always an object (a non-object is wrapped as
   * `{ value }`). `keep` names top-level keys that are never redacted (see
   * {@link CANONICAL_PAYLOAD_FIELDS}); they are still truncated and made JSON-safe.
   *
   * `serializeNow`: the caller serializes the result before anything else runs (`emit()`). Then,
   * in Node, when capture would change nothing (`serializesUnchanged`: no long string, no secret,
   * nothing exotic) the answer is `value` itself, sparing the copy, most of capture's cost and
   * allocations; `JSON.stringify` gives the same text of both. A page always copies.
   */
  object(
    value: unknown,
    keep?: ReadonlySet<string>,
    serializeNow?: boolean,
  ): Record<string, unknown> {
    if (value === undefined || value === null) return {};
    if (serializeNow && serializesUnchanged(value, this, keep, this.#options.maxStringLength))
      return value as Record<string, unknown>;
    this.#keepTopLevel = keep;
    this.#left = CAPTURE_BUDGET;
    let out: unknown;
    try {
      out = this.#copy(value, 0, []);
    } finally {
      this.#keepTopLevel = undefined;
    }
    if (typeof out === "object" && out !== null && !Array.isArray(out))
      return out as Record<string, unknown>;
    return { value: out };
  }

  /** What capture does with a key (memoized): keep it, redact its value, or drop it. */
  keyAction(key: string): KeyAction {
    let action = this.#keys.get(key);
    if (action === undefined) {
      action =
        this.#options.mode === "metadata" && isContentKey(key)
          ? DROP
          : isSecretKey(key)
            ? REDACT
            : KEEP;
      if (this.#keys.size >= KEY_CACHE_SIZE) this.#keys.clear();
      this.#keys.set(key, action);
    }
    return action;
  }

  /** `ancestors` is the path from the root: only a value that contains itself is a cycle. */
  #copy(value: unknown, depth: number, ancestors: object[]): unknown {
    if (--this.#left < 0) return "…[truncated]";
    switch (typeof value) {
      case "string": {
        // JSON text under a key that hides nothing (a tool result) may hold secrets inside.
        const text = truncateString(
          scrubJsonText(value, this, (v) => this.#copy(v, depth + 1, [])),
          this.#options.maxStringLength,
        );
        this.#left -= text.length >> 5;
        return text;
      }
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
    if (ancestors.includes(object)) return "[Circular]";
    if (depth >= MAX_DEPTH) return "[MaxDepth]";
    ancestors.push(object);
    try {
      return this.#copyObject(object, depth, ancestors);
    } catch (error) {
      return `[Unserializable: ${describe(error)}]`;
    } finally {
      ancestors.pop();
    }
  }

  #copyObject(object: object, depth: number, ancestors: object[]): unknown {
    if (Array.isArray(object)) return this.#copyArray(object, depth, ancestors);
    if (object instanceof Date) {
      return Number.isNaN(object.getTime()) ? "Invalid Date" : object.toISOString();
    }
    if (ArrayBuffer.isView(object)) {
      return `[${object.constructor.name} ${object.byteLength} bytes]`;
    }
    if (object instanceof ArrayBuffer) return `[ArrayBuffer ${object.byteLength} bytes]`;
    // What JSON.stringify would send is what the object says it is (Decimal, Moment, ...).
    const toJSON = (object as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === "function") return this.#copy(toJSON.call(object), depth + 1, ancestors);
    const proto = Object.getPrototypeOf(object);
    if (proto === Object.prototype || proto === null) {
      return this.#copyPlain(object, depth, ancestors);
    }
    if (object instanceof Error) return this.#copyError(object, depth, ancestors);
    if (object instanceof RegExp) return object.toString();
    if (object instanceof Promise || object instanceof WeakMap || object instanceof WeakSet) {
      return `[${object.constructor.name}]`;
    }
    if (object instanceof Set) return this.#copyArray(Array.from(object), depth, ancestors);
    if (object instanceof Map) return this.#copyMap(object, depth, ancestors);
    return this.#copyPlain(object, depth, ancestors);
  }

  #copyArray(items: readonly unknown[], depth: number, ancestors: object[]): unknown[] {
    const n = Math.min(items.length, MAX_ENTRIES);
    const out: unknown[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const v = this.#copy(items[i], depth + 1, ancestors);
      out[i] = v === undefined ? null : v;
    }
    if (items.length > MAX_ENTRIES) out.push(`…[${items.length - MAX_ENTRIES} more items]`);
    return out;
  }

  #copyPlain(object: object, depth: number, ancestors: object[]): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const keys = Object.keys(object);
    const n = Math.min(keys.length, MAX_ENTRIES);
    for (let i = 0; i < n; i++) {
      const key = keys[i] as string;
      const action = this.keyAction(key);
      if (action === DROP) continue;
      let v: unknown;
      try {
        v = (object as Record<string, unknown>)[key];
      } catch (error) {
        out[key] = `[Unserializable: ${describe(error)}]`;
        continue;
      }
      this.#put(out, key, v, action, depth, ancestors);
    }
    if (keys.length > MAX_ENTRIES) out["…"] = `[${keys.length - MAX_ENTRIES} more keys]`;
    return out;
  }

  #copyMap(
    map: Map<unknown, unknown>,
    depth: number,
    ancestors: object[],
  ): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    let count = 0;
    for (const [k, v] of map) {
      if (count++ >= MAX_ENTRIES) {
        out["…"] = `[${map.size - MAX_ENTRIES} more keys]`;
        break;
      }
      const key = typeof k === "string" ? k : String(k);
      const action = this.keyAction(key);
      if (action !== DROP) this.#put(out, key, v, action, depth, ancestors);
    }
    return out;
  }

  /** Put the copy of `v` (read from `key`, whose action is not DROP) into `out`. */
  #put(
    out: Record<string, unknown>,
    key: string,
    v: unknown,
    action: KeyAction,
    depth: number,
    ancestors: object[],
  ): void {
    // A number, boolean or null under a secret-looking key (`maxTokens`-like counts, flags) is
    // not a secret; anything else is replaced, unless it is a canonical field at the top.
    if (
      action === REDACT &&
      !(depth === 0 && this.#keepTopLevel?.has(key)) &&
      v !== undefined &&
      v !== null &&
      typeof v !== "number" &&
      typeof v !== "boolean"
    ) {
      out[key] = REDACTED;
      return;
    }
    const copied = this.#copy(v, depth + 1, ancestors);
    if (copied !== undefined) out[key] = copied;
  }

  #copyError(error: Error, depth: number, ancestors: object[]): Record<string, unknown> {
    const out: Record<string, unknown> = {
      name: error.name,
      message: this.#copy(error.message, depth + 1, ancestors),
    };
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string" || typeof code === "number") out.code = code;
    if (typeof error.stack === "string") out.stack = this.#copy(error.stack, depth + 1, ancestors);
    return out;
  }
}

/** One-off {@link Capture.value} (adapters and tests; clients keep a {@link Capture} each). */
export function sanitize(value: unknown, options: CaptureOptions): unknown {
  return new Capture(options).value(value);
}

/** One-off {@link Capture.object}. */
export function sanitizeObject(value: unknown, options: CaptureOptions): Record<string, unknown> {
  return new Capture(options).object(value);
}

function describe(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error);
  } catch {
    return "unknown error";
  }
}
