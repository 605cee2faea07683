/*
 * Reading fields of objects the framework hands us. Any of them may be hostile (a getter that
 * throws, a Proxy), so a read that throws yields `undefined` and the caller carries on with what
 * it has: one bad field costs that field, not the event.
 */

export type Dict = Record<string, unknown>;

export function read(value: unknown, key: string): unknown {
  if (typeof value !== "object" || value === null) return undefined;
  try {
    return (value as Dict)[key];
  } catch {
    return undefined;
  }
}

export function readString(value: unknown, key: string): string | undefined {
  const v = read(value, key);
  return typeof v === "string" ? v : undefined;
}

export function readNumber(value: unknown, key: string): number | undefined {
  const v = read(value, key);
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

export function isObject(value: unknown): value is Dict {
  return typeof value === "object" && value !== null;
}

export function isArray(value: unknown): value is unknown[] {
  try {
    return Array.isArray(value);
  } catch {
    // Array.isArray throws on a revoked Proxy.
    return false;
  }
}

/**
 * The `AbortSignal` of a model call, from the call options LangChain passes to
 * `handleChatModelStart`/`handleLLMStart` (`extraParams.options.signal`).
 */
export function abortSignalOf(extraParams: unknown): AbortSignal | undefined {
  const signal = read(read(extraParams, "options"), "signal");
  return typeof read(signal, "addEventListener") === "function" &&
    typeof read(signal, "aborted") === "boolean"
    ? (signal as AbortSignal)
    : undefined;
}
