import type { ChorusEvent, Intent, IntentStatus } from "@chorus/protocol";

/** Row shapes as the stores return them, and their mapping to wire objects. */

/** Bytes counted per event beside its payload and metadata: ids, names and timestamps. */
export const EVENT_OVERHEAD_BYTES = 256;

/** Event filter fields that are plain column equality, and their columns (both stores). */
export const FILTER_COLUMNS: Record<
  "channel" | "type" | "agent" | "app" | "env" | "traceId" | "intentId",
  string
> = {
  channel: "channel",
  type: "type",
  agent: "agent",
  app: "app",
  env: "env",
  traceId: "trace_id",
  intentId: "intent_id",
};
export interface EventRow {
  seq: number;
  id: string;
  channel: string;
  env: string;
  app: string | null;
  type: string;
  agent: string | null;
  trace_id: string | null;
  span_id: string | null;
  parent_span_id: string | null;
  intent_id: string | null;
  payload: string;
  metadata: string;
  occurred_at: string;
  received_at: string;
}

export function eventFromRow(row: EventRow): ChorusEvent {
  const event: ChorusEvent = {
    id: row.id,
    seq: row.seq,
    channel: row.channel,
    env: row.env,
    type: row.type,
    payload: JSON.parse(row.payload) as Record<string, unknown>,
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    occurredAt: row.occurred_at,
    receivedAt: row.received_at,
  };
  return withOptionalFields(event, row);
}

/** The optional fields a row has, set on `event` in the wire's order (after `receivedAt`). */
function withOptionalFields<E extends EventEnvelope>(event: E, row: EventRow): E {
  if (row.app !== null) event.app = row.app;
  if (row.agent !== null) event.agent = row.agent;
  if (row.trace_id !== null) event.traceId = row.trace_id;
  if (row.span_id !== null) event.spanId = row.span_id;
  if (row.parent_span_id !== null) event.parentSpanId = row.parent_span_id;
  if (row.intent_id !== null) event.intentId = row.intent_id;
  return event;
}

/** A stored event as JSON text, with what a stream needs beside it. */
export interface EventJson {
  seq: number;
  type: string;
  /** `JSON.stringify(eventFromRow(row))`, made without parsing payload and metadata. */
  json: string;
}

/** {@link eventFromRow}'s event as JSON text, made without parsing payload and metadata. */
export function eventJsonFromRow(row: EventRow): EventJson {
  return {
    seq: row.seq,
    type: row.type,
    json: eventJson(envelopeFromRow(row), row.payload, row.metadata),
  };
}

/** An event without its payload and metadata: what delivery decides by (filters, topics). */
export type EventEnvelope = Omit<ChorusEvent, "payload" | "metadata">;

/** A stored event's envelope, in {@link eventFromRow}'s field order. */
export function envelopeFromRow(row: EventRow): EventEnvelope {
  const event: EventEnvelope = {
    id: row.id,
    seq: row.seq,
    channel: row.channel,
    env: row.env,
    type: row.type,
    occurredAt: row.occurred_at,
    receivedAt: row.received_at,
  };
  return withOptionalFields(event, row);
}

/** A stored event without payload and metadata: its envelope, as {@link envelopeFromRow} reads it. */
export function envelopeOf({
  payload: _payload,
  metadata: _metadata,
  ...envelope
}: ChorusEvent): EventEnvelope {
  return envelope;
}

/** A row of the tail's read (`Store.readAfter`): envelope, payload and metadata as stored. */
export function committedFromRow(row: EventRow & { org: string; bytes: number }) {
  return {
    org: row.org,
    event: envelopeFromRow(row),
    payload: row.payload,
    metadata: row.metadata,
    bytes: row.bytes,
  };
}

/**
 * The JSON of the whole event, field for field as `JSON.stringify(eventFromRow(row))` writes
 * it, with the stored payload and metadata text spliced in as it is: both stores write them
 * with `JSON.stringify`, whose text parses and prints back to itself. A replayed or delivered
 * event then costs no parse and no copy of a large payload beyond its text.
 */
export function eventJson(event: EventEnvelope, payload: string, metadata: string): string {
  const q = JSON.stringify;
  let json = `{"id":${q(event.id)},"seq":${event.seq},"channel":${q(event.channel)},"env":${q(event.env)},"type":${q(event.type)},"payload":${payload},"metadata":${metadata},"occurredAt":${q(event.occurredAt)},"receivedAt":${q(event.receivedAt)}`;
  if (event.app !== undefined) json += `,"app":${q(event.app)}`;
  if (event.agent !== undefined) json += `,"agent":${q(event.agent)}`;
  if (event.traceId !== undefined) json += `,"traceId":${q(event.traceId)}`;
  if (event.spanId !== undefined) json += `,"spanId":${q(event.spanId)}`;
  if (event.parentSpanId !== undefined) json += `,"parentSpanId":${q(event.parentSpanId)}`;
  if (event.intentId !== undefined) json += `,"intentId":${q(event.intentId)}`;
  return `${json}}`;
}

/** The stored event, in the wire's field order, so published and listed JSON match. */
export function orderEvent(
  e: Omit<ChorusEvent, "seq" | "receivedAt">,
  seq: number,
  receivedAt: string,
): ChorusEvent {
  const out: ChorusEvent = {
    id: e.id,
    seq,
    channel: e.channel,
    env: e.env,
    type: e.type,
    payload: e.payload,
    metadata: e.metadata,
    occurredAt: e.occurredAt,
    receivedAt,
  };
  if (e.app !== undefined) out.app = e.app;
  if (e.agent !== undefined) out.agent = e.agent;
  if (e.traceId !== undefined) out.traceId = e.traceId;
  if (e.spanId !== undefined) out.spanId = e.spanId;
  if (e.parentSpanId !== undefined) out.parentSpanId = e.parentSpanId;
  if (e.intentId !== undefined) out.intentId = e.intentId;
  return out;
}

export interface IntentRow {
  rowid: number;
  id: string;
  title: string;
  description: string | null;
  status: string;
  state: string;
  version: number;
  portfolio: string | null;
  parent_id: string | null;
  created_by: string | null;
  created_at: string;
  updated_at: string;
  assignees: string;
}

export function intentFromRow(row: IntentRow): Intent {
  const intent: Intent = {
    id: row.id,
    title: row.title,
    status: row.status as IntentStatus,
    state: JSON.parse(row.state) as Record<string, unknown>,
    version: row.version,
    assignees: JSON.parse(row.assignees) as string[],
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
  if (row.description !== null) intent.description = row.description;
  if (row.portfolio !== null) intent.portfolio = row.portfolio;
  if (row.parent_id !== null) intent.parentId = row.parent_id;
  if (row.created_by !== null) intent.createdBy = row.created_by;
  return intent;
}

/**
 * The size of an intent row as SQLite list pages count it (over the `intents i` alias): state,
 * title and description plus the per-row allowance. Postgres counts the same in octets.
 */
export const INTENT_BYTES = `length(i.state) + length(i.title) + COALESCE(length(i.description), 0)
  + ${EVENT_OVERHEAD_BYTES} AS bytes`;

/** SELECT list for an intent with its assignees in assignment order. */
export const INTENT_COLUMNS = `i.rowid AS rowid, i.id, i.title, i.description, i.status, i.state, i.version,
  i.portfolio, i.parent_id, i.created_by, i.created_at, i.updated_at,
  (SELECT json_group_array(agent) FROM
    (SELECT a.agent FROM intent_assignees a WHERE a.org = i.org AND a.intent_id = i.id ORDER BY a.rowid)
  ) AS assignees`;
