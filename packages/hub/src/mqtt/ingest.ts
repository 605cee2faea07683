import {
  eventBatchSchema,
  INGEST_TOPIC_ROOT,
  MAX_BODY_BYTES,
  parseEventTopic,
  type TopicFields,
} from "@chorus/protocol";
import type { HubContext } from "../context.js";
import { isStorageUnavailable } from "../http/errors.js";
import { normalizeEvents, storeAndPublish } from "../ingest.js";
import { type JsonTextError, parseJsonText } from "../json.js";

/** Why a publish on `chorus-in/` was not stored; the `reason` label of the dropped counter. */
export type DropReason =
  | "too_large"
  | "invalid_json"
  | "too_deep"
  | "invalid_event"
  | "topic_conflict"
  | "wrong_org"
  | "forbidden"
  | "store_failed";

export type IngestOutcome =
  | { ok: true; stored: number; duplicates: number }
  /** `unavailable`: the store could not be reached (as HTTP's 503); the same publish may be stored later. */
  | { ok: false; reason: DropReason; unavailable?: true };

const TOPIC_FIELDS = ["env", "channel", "app", "type", "agent"] as const;

/**
 * With an external broker, the shared-subscription group of every hub: the broker hands each
 * client publish on `chorus-in/#` to one member, so it is stored once however many hubs run.
 */
export const INGEST_GROUP = "chorus-hubs";
export const INGEST_FILTER = `$share/${INGEST_GROUP}/${INGEST_TOPIC_ROOT}/#`;

/**
 * Count and log one dropped publish: the client and key id, never the key. Bad payloads are
 * the publisher's bug and logged at debug (a chatty client must not flood the log); refused
 * authorization is worth a warning. A store failure was already logged, with its error.
 */
export function recordDrop(
  ctx: HubContext,
  reason: DropReason,
  fields: { clientId?: string; keyId?: string; topic: string },
): void {
  ctx.metrics.mqttPublishesDropped.inc({ reason });
  const entry = { reason, ...fields };
  if (reason === "wrong_org" || reason === "forbidden")
    ctx.logger.warn("mqtt ingest publish dropped", entry);
  else ctx.logger.debug("mqtt ingest publish dropped", entry);
}

/**
 * Validate, store and fan out one publish on `chorus-in/{org}/...` for an already authorized
 * org. Same rules as `POST /v1/events`: one event or `{ events: [...] }`, all or nothing.
 * A full 7-level ingest topic supplies the fields the body leaves out; a body that disagrees
 * with its own topic is refused rather than guessed at. Never throws.
 */
export async function ingestPublish(
  ctx: HubContext,
  org: string,
  topic: string,
  payload: Buffer,
): Promise<IngestOutcome> {
  // The HTTP body limit holds here too: MQTT must not be the back door for bigger batches.
  if (payload.length > MAX_BODY_BYTES) return { ok: false, reason: "too_large" };
  let body: unknown;
  try {
    body = parseJsonText(payload.toString("utf8"));
  } catch (error) {
    // Too deep to walk safely, or a __proto__ key: refused like any invalid publish.
    const reason = (error as JsonTextError).reason === "too_deep" ? "too_deep" : "invalid_json";
    return { ok: false, reason };
  }

  let raw: unknown[];
  if (isObject(body) && "events" in body) {
    const batch = eventBatchSchema.safeParse(body);
    if (!batch.success) return reject(ctx, 1, "invalid_event");
    raw = batch.data.events;
  } else {
    raw = [body];
  }

  const fromTopic = topicFields(topic);
  if (fromTopic && !raw.every((item) => fillFromTopic(item, fromTopic))) {
    return reject(ctx, raw.length, "topic_conflict");
  }

  const normalized = normalizeEvents(raw);
  if (!normalized.ok) {
    const tooLarge = normalized.problems.some((p) => p.code === "payload_too_large");
    return reject(ctx, raw.length, tooLarge ? "too_large" : "invalid_event");
  }

  try {
    const result = await storeAndPublish(ctx, org, normalized.events);
    ctx.metrics.eventsIngested.inc({ source: "mqtt" }, result.inserted.length);
    if (result.duplicates > 0) ctx.metrics.eventsDuplicate.inc(result.duplicates);
    return { ok: true, stored: result.inserted.length, duplicates: result.duplicates };
  } catch (error) {
    if (typeof error === "object" && error !== null && isStorageUnavailable(error)) {
      ctx.storageTrouble.report(error, "mqtt ingest");
      return { ok: false, reason: "store_failed", unavailable: true };
    }
    ctx.logger.error("mqtt ingest store failed", { org, error: String(error) });
    return { ok: false, reason: "store_failed" };
  }
}

function reject(ctx: HubContext, count: number, reason: DropReason): IngestOutcome {
  ctx.metrics.eventsRejected.inc({ source: "mqtt" }, count);
  return { ok: false, reason };
}

/** Fields named by a full ingest topic; `_` levels name nothing and constrain nothing. */
function topicFields(topic: string): TopicFields | undefined {
  const parsed = parseEventTopic(topic);
  if (!parsed || parsed.root !== INGEST_TOPIC_ROOT) return undefined;
  const { root: _root, org: _org, ...fields } = parsed;
  return fields;
}

/** Fill absent fields from the topic; false when the body contradicts it. Non-objects are left to the schema. */
function fillFromTopic(item: unknown, fields: TopicFields): boolean {
  if (!isObject(item)) return true;
  for (const f of TOPIC_FIELDS) {
    const fromTopic = fields[f];
    if (fromTopic === undefined) continue;
    if (item[f] === undefined) item[f] = fromTopic;
    else if (item[f] !== fromTopic) return false;
  }
  return true;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
