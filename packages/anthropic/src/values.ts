/*
 * Narrowing helpers for values that come from the network or from the caller. The mapping reads
 * everything through these instead of trusting the SDK's types, so a response of an unexpected
 * shape (a newer API, a proxy, a hostile server) yields fewer fields, not an exception.
 */

export type Obj = Record<string, unknown>;

export function isObj(value: unknown): value is Obj {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** A finite, non-negative count; anything else is `undefined`. */
export function count(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : undefined;
}

export function arr(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}
