import { CONTENT_KEYS } from "./content.js";
import { MAX_EVENT_BYTES } from "./limits.js";

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
 * An event over the size limit ({@link MAX_EVENT_BYTES}), made to fit by leaving out what made
 * it big, instead of being refused: bounded strings and levels still add up (a tool returning a
 * thousand rows, a prompt of many long messages), and refusing a run's `tool.end` or `llm.start`
 * would leave its span reading as never finished. The payload's content fields
 * ({@link CONTENT_KEYS}: `result`, `messages`, `output`, …) are left out first, then any other
 * payload or metadata field, the largest first in each group, until the event fits;
 * `metadata.oversize` then says how large the event was and which fields it lost
 * (`{ bytes, dropped: ["payload.result"] }`). Used by the client's `emit()` (Node) and by the
 * hub's OTLP ingest.
 *
 * `event` must be the caller's own copy; its payload and metadata are copied before a field is
 * removed. `json` and `bytes` are the event's JSON and its UTF-8 length as it is; `utf8Length`
 * is the platform's (protocol runs in pages too). Returns the new JSON, or the old one when
 * nothing could be left out: the caller checks the size again.
 */
export function fitEvent(
  event: Record<string, unknown>,
  json: string,
  bytes: number,
  utf8Length: (text: string) => number,
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
        bytes: utf8Length(JSON.stringify(key)) + 2 + utf8Length(serialized),
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
    estimate -= field.bytes - utf8Length(JSON.stringify(field.path)) - 1;
    if (estimate > MAX_EVENT_BYTES) continue;
    const metadata = (event.metadata ?? {}) as Record<string, unknown>;
    metadata.oversize = oversize;
    event.metadata = metadata;
    const next = JSON.stringify(event);
    fitted = { json: next, bytes: utf8Length(next) };
    if (fitted.bytes <= MAX_EVENT_BYTES) return fitted;
    estimate = fitted.bytes;
  }
  return fitted;
}
