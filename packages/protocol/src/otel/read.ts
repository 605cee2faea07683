import type { OtelAttributes, OtelAttributeValue } from "./span.js";

/*
 * Readers of span attributes through the attribute table. Each one is total: a missing,
 * mistyped or malformed attribute is `undefined`, never an exception, because a span comes from
 * code we do not control (or from the network).
 */

/** The first attribute among `names` that is present. */
export function first(attrs: OtelAttributes, names: readonly string[]): OtelAttributeValue {
  for (const name of names) {
    const value = attrs[name];
    if (value !== undefined && value !== null && value !== "") return value;
  }
  return undefined;
}

export function str(attrs: OtelAttributes, names: readonly string[]): string | undefined {
  const value = first(attrs, names);
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

export function num(attrs: OtelAttributes, names: readonly string[]): number | undefined {
  for (const name of names) {
    const value = attrs[name];
    const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
    if (typeof n === "number" && Number.isFinite(n)) return n;
  }
  return undefined;
}

/** JSON-encoded attributes decoded; a string that is not JSON is returned as it is. */
export function json(attrs: OtelAttributes, names: readonly string[]): unknown {
  const value = first(attrs, names);
  if (Array.isArray(value)) return value.map((v) => (typeof v === "string" ? parse(v) : v));
  return typeof value === "string" ? parse(value) : value;
}

export function parse(text: string): unknown {
  if (!looksLikeJson(text)) return text;
  try {
    // An own `__proto__` key would reach the hub, which refuses them everywhere else, and
    // `Object.assign` of it swaps a prototype: dropped. The reviver costs time, so it only runs
    // when the text could hold one, escaped or not (two `includes` cost ~2% of the parse where a
    // regex alternation of the same costs ~40%: this runs on `span.end()`'s path).
    return text.includes("__proto__") || text.includes("\\u")
      ? JSON.parse(text, dropProtoKey)
      : JSON.parse(text);
  } catch {
    return text;
  }
}

const dropProtoKey = (key: string, value: unknown) => (key === "__proto__" ? undefined : value);

/** Whether the first non-blank character opens an object or array (checked without copying). */
function looksLikeJson(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b || c === 0x5b) return true; // { [
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return false;
  }
  return false;
}

/** First entry of a list attribute, or the attribute itself. */
export function firstOf(value: OtelAttributeValue): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return typeof v === "string" && v !== "" ? v : undefined;
}

/**
 * OpenInference flattens lists into indexed keys (`llm.input_messages.0.message.role`). This
 * folds `prefix.N.rest` back into an array of objects keyed by `rest`, in index order.
 */
export function indexed(
  attrs: OtelAttributes,
  prefix: string,
): Record<string, OtelAttributeValue>[] | undefined {
  const lead = `${prefix}.`;
  const items = new Map<number, Record<string, OtelAttributeValue>>();
  for (const key of Object.keys(attrs)) {
    if (!key.startsWith(lead)) continue;
    const rest = key.slice(lead.length);
    const dot = rest.indexOf(".");
    const index = Number(dot < 0 ? rest : rest.slice(0, dot));
    if (!Number.isInteger(index) || index < 0 || dot < 0) continue;
    let item = items.get(index);
    if (!item) {
      item = {};
      items.set(index, item);
    }
    item[rest.slice(dot + 1)] = attrs[key];
  }
  if (items.size === 0) return undefined;
  return [...items.entries()].sort((a, b) => a[0] - b[0]).map(([, item]) => item);
}
