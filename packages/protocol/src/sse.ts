/**
 * Server-Sent Events framing as the hub writes it: every message has `id: <seq>`,
 * `event: <type>` and `data: <json>`; `retry:` is sent once per connection and a `: ping`
 * comment keeps proxies from closing an idle stream.
 */

/** How often the hub writes `: ping` on an idle stream. */
export const SSE_PING_INTERVAL_MS = 15_000;
/** Reconnect delay the hub advises clients through `retry:`. */
export const SSE_RETRY_MS = 2_000;

/**
 * The first message of every stream. Its `id` is the seq the stream starts after, so a client
 * that drops before the first event still resumes exactly there (an `id:`-only message would
 * be dropped by SSE parsers). Named, so `onmessage` handlers never see it.
 */
export const SSE_READY_EVENT = "chorus.ready";

/**
 * Right after {@link SSE_READY_EVENT}, an intent stream (`/v1/intents/:id/stream`) sends the
 * intent as `GET /v1/intents/:id` returns it, read after the stream's starting point was fixed,
 * so a watcher needs no extra read. It has no `id:` (it must not move the client's
 * `Last-Event-ID` cursor) and is sent on every connection, resumed ones included. Events that
 * follow may already be reflected in it: an intent event whose `version` is at or below the
 * snapshot's `version` changes nothing.
 */
export const SSE_SNAPSHOT_EVENT = "chorus.snapshot";

/**
 * The one message of `GET /v1/agents` as a stream (`Accept: text/event-stream`): the body the
 * JSON answer would have (`{ data, partial? }`), sent when the stream opens and again whenever
 * it changed. No `id:`: each message replaces the last, there is nothing to resume.
 */
export const SSE_AGENTS_EVENT = "chorus.agents";

export interface SseMessage {
  id?: string | number;
  event?: string;
  data: string;
}

/** Frame one message. Multi-line data is split into several `data:` lines, as the spec requires. */
export function formatSseMessage(message: SseMessage): string {
  let out = "";
  if (message.id !== undefined) out += `id: ${stripNewlines(String(message.id))}\n`;
  if (message.event !== undefined) out += `event: ${stripNewlines(message.event)}\n`;
  for (const line of message.data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return `${out}\n`;
}

export function formatSseEvent(event: { seq: number; type: string }): string {
  return formatSseMessage({ id: event.seq, event: event.type, data: JSON.stringify(event) });
}

/**
 * The {@link SSE_READY_EVENT} message for a stream starting after `cursor`, with the store's
 * `epoch`: `data: {"after": <seq>, "epoch": "<id>"}`. Seqs are comparable only within one
 * epoch; a client that resumed with a cursor from another epoch (the hub's store was replaced,
 * e.g. an in-memory hub restarted) must start again from the beginning (`after=0`). `oldest`,
 * when given, is the lowest seq the store still holds, sent to a stream resuming below it: the
 * hub's retention deleted what lay in between, so the reader missed what of it matched.
 * `ahead`, when given, is a cursor the reader asked for beyond the newest seq the store holds (a
 * store restored from a backup, a cursor kept from elsewhere): the stream starts from the
 * beginning instead (`cursor` 0, as for another epoch), and the reader must move its own cursor
 * back, or it would skip every event the store numbers up to `ahead`.
 */
export function formatSseReady(
  cursor: number,
  epoch?: string,
  oldest?: number,
  ahead?: number,
): string {
  const data: SseReadyData = { after: cursor };
  if (epoch !== undefined) data.epoch = epoch;
  if (oldest !== undefined) data.oldest = oldest;
  if (ahead !== undefined) data.ahead = ahead;
  return formatSseMessage({ id: cursor, event: SSE_READY_EVENT, data: JSON.stringify(data) });
}

/** The data of a {@link SSE_READY_EVENT} message. */
export interface SseReadyData {
  after: number;
  /** The hub store's epoch (see {@link formatSseReady}). */
  epoch?: string;
  /** The lowest seq still stored, when the stream resumed below it (see {@link formatSseReady}). */
  oldest?: number;
  /** The cursor asked for, when it was beyond the newest stored seq (see {@link formatSseReady}). */
  ahead?: number;
}

/**
 * The `oldest` to tell a reader resuming after `after` (an SSE stream's ready message, an event
 * page): the store's lowest seq when retention deleted events past the reader's cursor, else
 * undefined. `after` 0 (from the start) is told too: it asked for everything.
 */
export function retentionGap(after: number | undefined, oldest: number): number | undefined {
  return after !== undefined && oldest > after + 1 ? oldest : undefined;
}

export function formatSseComment(text: string): string {
  return `: ${stripNewlines(text)}\n\n`;
}

export function formatSseRetry(ms: number): string {
  return `retry: ${Math.max(0, Math.floor(ms))}\n\n`;
}

/** Parse a `Last-Event-ID` value into a seq; anything that is not a non-negative integer is ignored. */
export function parseLastEventId(value: string | undefined | null): number | undefined {
  if (value === undefined || value === null) return undefined;
  const trimmed = value.trim();
  if (!/^\d{1,15}$/.test(trimmed)) return undefined;
  return Number(trimmed);
}

function stripNewlines(s: string): string {
  return s.replace(/[\r\n]/g, "");
}
