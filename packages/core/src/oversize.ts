import { MAX_EVENT_BYTES } from "@chorus/protocol/wire";
import { CONTENT_KEYS } from "./capture.js";

/** An event made to fit: its JSON and that JSON's UTF-8 length. */
export interface FittedEvent {
  json: string;
  bytes: number;
}

interface Field {
  owner: Record<string, unknown>;
  key: string;
  path: string;
  /** Bytes the field takes in the event's JSON: `"key":value,`. */
  bytes: number;
  content: boolean;
}

/**
 * An `emit()`ted event over the size limit (Node; the browser entry refuses it, as `publish()`
 * does everywhere), made to fit by leaving out what made it big: capture bounds every string
 * and every level, yet a tool returning a thousand rows or a prompt of fifty long messages
 * serializes past the limit, and refusing the event would lose the run's `tool.end` or
 * `llm.start` with it: its span would read as never finished. The payload's content fields
 * (`result`, `messages`, `output`, …) are left out first, then any other payload or metadata
 * field, the largest first in each group, until the event fits; `metadata.oversize` then says how
 * large the event was and which fields it lost (`{ bytes, dropped: ["payload.result"] }`).
 *
 * `event` is the builder's own copy; its payload and metadata may be the caller's objects, so
 * they are copied before a field is removed. Returns the event's new JSON, or its old JSON when
 * nothing could be left out; the caller checks the size again.
 */
export function fitOversize(
  event: Record<string, unknown>,
  json: string,
  bytes: number,
  limit = MAX_EVENT_BYTES,
): FittedEvent {
  const fields: Field[] = [];
  for (const where of ["payload", "metadata"] as const) {
    const value = event[where];
    if (typeof value !== "object" || value === null || Array.isArray(value)) continue;
    const owner = { ...(value as Record<string, unknown>) };
    event[where] = owner;
    for (const key of Object.keys(owner)) {
      const serialized = JSON.stringify(owner[key]);
      if (serialized === undefined) continue;
      fields.push({
        owner,
        key,
        path: `${where}.${key}`,
        bytes: Buffer.byteLength(JSON.stringify(key)) + 2 + Buffer.byteLength(serialized),
        content: where === "payload" && CONTENT_KEYS.has(key),
      });
    }
  }
  fields.sort((a, b) => Number(b.content) - Number(a.content) || b.bytes - a.bytes);

  const dropped: string[] = [];
  const oversize = { bytes, dropped };
  // Room for `"oversize":{…}` in metadata, however many paths it ends up naming.
  let estimate = bytes + 64;
  let fitted: FittedEvent = { json, bytes };
  for (const field of fields) {
    delete field.owner[field.key];
    dropped.push(field.path);
    estimate -= field.bytes - Buffer.byteLength(JSON.stringify(field.path)) - 1;
    if (estimate > limit) continue;
    const metadata = (event.metadata ?? {}) as Record<string, unknown>;
    metadata.oversize = oversize;
    event.metadata = metadata;
    const next = JSON.stringify(event);
    fitted = { json: next, bytes: Buffer.byteLength(next) };
    if (fitted.bytes <= limit) return fitted;
    estimate = fitted.bytes;
  }
  return fitted;
}
