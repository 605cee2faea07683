/**
 * Bounds shared by hub and client. Each one is here so both sides agree on what is refused.
 */

/** Events per `POST /v1/events` batch: large enough to amortise a request, small enough to insert in one transaction. */
export const MAX_BATCH_EVENTS = 1000;
/** Bytes per HTTP request body: a full batch of typical events fits with room to spare. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** Bytes of one serialized event: keeps a single runaway payload from filling a batch or an SSE frame. */
export const MAX_EVENT_BYTES = 256 * 1024;
/** Length of channel, env, app, agent names: they become MQTT topic levels and index keys. */
export const MAX_NAME_LENGTH = 200;
/** Length of an event type name. */
export const MAX_TYPE_LENGTH = 120;
/** Length of a client-supplied id (event or intent). */
export const MAX_ID_LENGTH = 128;
/** Page size for list endpoints when the caller gives none, and the most they may ask for. */
export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 1000;
/**
 * Levels of nesting (objects and arrays) in one JSON body or MQTT payload. The hub walks what it
 * accepts recursively (size, schema, merge patch, deep equality), and a few thousand levels
 * would overflow the stack; 128 is far beyond any real event or intent state and far below that.
 */
export const MAX_JSON_DEPTH = 128;
/**
 * Bytes of one list page (events, intents, an intent's log): a page stops early, with `next`,
 * once its rows reach this, so `limit=1000` of large rows cannot build a response of hundreds of
 * megabytes. The row that crosses it is kept, so a page always holds at least one row.
 */
export const MAX_PAGE_BYTES = 4 * 1024 * 1024;
