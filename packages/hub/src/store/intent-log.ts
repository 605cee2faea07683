import {
  applyMergePatch,
  changedTopLevelKeys,
  DEFAULT_ENV,
  INTENT_CHANNEL,
  type Intent,
  MAX_INTENT_STATE_BYTES,
} from "@chorus/protocol";
import { v7 as uuidv7 } from "uuid";
import type { NewEvent, StateTooLarge } from "./types.js";

/**
 * What every store does the same way around an intent write: the merged state and its size
 * check, and the log event a write appends. Stores differ only in how they lock and write rows.
 */

/** The state after a merge patch, serialized, or the error when it grows past the limit. */
export function mergeState(
  current: Record<string, unknown>,
  patch: Record<string, unknown>,
): { state: Record<string, unknown>; json: string; changedKeys: string[] } | StateTooLarge {
  const state = applyMergePatch(current, patch) as Record<string, unknown>;
  const json = JSON.stringify(state);
  const bytes = Buffer.byteLength(json);
  if (bytes > MAX_INTENT_STATE_BYTES) return { error: "state_too_large", bytes };
  return { state, json, changedKeys: changedTopLevelKeys(current, state) };
}

/** The log event of an intent write, on the intents channel, stamped now. */
export function intentLogEvent(
  intent: Intent,
  type: string,
  payload: object,
  actor: string | undefined,
  at: Date,
): NewEvent {
  const event: NewEvent = {
    id: uuidv7(),
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
