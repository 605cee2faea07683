import {
  applyMergePatch,
  changedTopLevelKeys,
  DEFAULT_ENV,
  INTENT_CHANNEL,
  type Intent,
  IntentEventTypes,
  jsonEqual,
  MAX_EVENT_BYTES,
  type StateChangedPayload,
} from "@chorus/protocol";
import { v7 as uuidv7 } from "uuid";
import type {
  IntentWrite,
  KeyReused,
  NewEvent,
  NewIntent,
  StateTooLarge,
  VersionConflict,
} from "./types.js";

/**
 * What every store does the same way around an intent write: the merged state and its size
 * check, and the log event a write appends. Stores differ only in how they lock and write rows.
 */

/** The refusal of a write conditional on `ifMatch` when the intent is at another version. */
export function versionConflict(
  current: { version: number },
  ifMatch: number | undefined,
): VersionConflict | undefined {
  return ifMatch !== undefined && ifMatch !== current.version
    ? { error: "conflict", currentVersion: current.version }
    : undefined;
}

/**
 * The state after a merge patch, serialized, or the error when the `intent.state_changed` event
 * that carries it (state, patch and changed keys together) would pass the per-event limit: every
 * stored event, intent log events included, fits {@link MAX_EVENT_BYTES}.
 */
export function mergeState(
  current: Intent,
  patch: Record<string, unknown>,
  actor: string | undefined,
): { state: Record<string, unknown>; json: string; changedKeys: string[] } | StateTooLarge {
  const state = applyMergePatch(current.state, patch) as Record<string, unknown>;
  const changedKeys = changedTopLevelKeys(current.state, state);
  const payload: StateChangedPayload = { version: current.version + 1, patch, changedKeys, state };
  const draft = intentLogEvent(current, IntentEventTypes.StateChanged, payload, actor, new Date());
  const bytes = eventBytes(draft);
  if (bytes > MAX_EVENT_BYTES) return { error: "state_too_large", bytes, limit: MAX_EVENT_BYTES };
  return { state, json: JSON.stringify(state), changedKeys };
}

/**
 * Refuse a new intent whose `intent.created` event (the whole intent, state included) would
 * pass the per-event limit. Measured on the intent as the store will write it, timestamps and
 * version included, before anything is stored.
 */
export function createTooLarge(input: NewIntent): StateTooLarge | undefined {
  const at = new Date();
  const intent: Intent = {
    id: input.id,
    title: input.title,
    status: input.status ?? "active",
    state: input.state ?? {},
    version: 1,
    assignees: [...new Set(input.assignees ?? [])],
    createdAt: at.toISOString(),
    updatedAt: at.toISOString(),
  };
  if (input.description !== undefined) intent.description = input.description;
  if (input.portfolio !== undefined) intent.portfolio = input.portfolio;
  if (input.parentId !== undefined) intent.parentId = input.parentId;
  if (input.createdBy !== undefined) intent.createdBy = input.createdBy;
  const draft = intentLogEvent(intent, IntentEventTypes.Created, { intent }, input.createdBy, at);
  const bytes = eventBytes(draft);
  return bytes > MAX_EVENT_BYTES
    ? { error: "state_too_large", bytes, limit: MAX_EVENT_BYTES }
    : undefined;
}

/** Bytes of an event's JSON, measured as a published event is (ingest.ts). */
function eventBytes(event: NewEvent): number {
  return Buffer.byteLength(JSON.stringify(event), "utf8");
}

/** What a store holds under a write's key, when anything: the event with that id. */
export interface KeyedEvent {
  type: string;
  intentId: string | undefined;
  /** The event's payload, as stored (JSON text): what the write was, to compare a resend with. */
  payload: string;
}

/**
 * Whether a write's log event payload records this very write (see {@link replayOf}): the same
 * patch, the same status and reason, the same create. `If-Match` is not part of it: a resend
 * may name the version it was first written on or a later one.
 */
export type SameWrite = (payload: Record<string, unknown>) => boolean;

/**
 * The answer to a write whose key (see `WriteKey`) the store already holds as an event id:
 * a replay when that event is this intent's log event of this kind of write and records the
 * same write (`same`: the write happened, `intent` as it is now), else the key is another's (a
 * key reused for a different patch, status or create is refused rather than answered as if the
 * new write had been made). `undefined` when the key is new.
 */
export function replayOf(
  prior: KeyedEvent | undefined,
  intent: Intent | undefined,
  type: string,
  same: SameWrite,
): IntentWrite | KeyReused | undefined {
  if (prior === undefined) return undefined;
  if (
    intent !== undefined &&
    prior.intentId === intent.id &&
    prior.type === type &&
    same(parsePayload(prior.payload))
  )
    return { intent, events: [], replayed: true };
  return KEY_REUSED;
}

function parsePayload(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** {@link SameWrite} of a state patch: the `intent.state_changed` event holds the patch as sent. */
export function samePatch(patch: Record<string, unknown>): SameWrite {
  return (payload) => jsonEqual(payload.patch, patch);
}

/** {@link SameWrite} of a status change: the same target status and reason. */
export function sameStatus(change: { status: string; reason?: string }): SameWrite {
  return (payload) => payload.to === change.status && payload.reason === change.reason;
}

/**
 * {@link SameWrite} of a create: the `intent.created` event holds the intent as created, so the
 * fields the request gave (defaults filled in) are compared. `createdBy` is not: it defaults to
 * the request's `Chorus-Agent`, and a resend may come from another process.
 */
export function sameCreate(input: NewIntent): SameWrite {
  return (payload) => {
    const made = (payload.intent ?? {}) as Partial<Intent>;
    return (
      made.title === input.title &&
      made.description === input.description &&
      made.status === (input.status ?? "active") &&
      made.portfolio === input.portfolio &&
      made.parentId === input.parentId &&
      jsonEqual(made.state, input.state ?? {}) &&
      jsonEqual(made.assignees, [...new Set(input.assignees ?? [])])
    );
  };
}

export const KEY_REUSED: KeyReused = { error: "key_reused" };

/** The log event of an intent write, on the intents channel, stamped now; `id` is the write's key. */
export function intentLogEvent(
  intent: Intent,
  type: string,
  payload: object,
  actor: string | undefined,
  at: Date,
  id: string = uuidv7(),
): NewEvent {
  const event: NewEvent = {
    id,
    channel: INTENT_CHANNEL,
    env: DEFAULT_ENV,
    type,
    intentId: intent.id,
    payload: payload as Record<string, unknown>,
    metadata: {},
    occurredAt: at.toISOString(),
  };
  if (actor !== undefined) event.agent = actor;
  return event;
}
