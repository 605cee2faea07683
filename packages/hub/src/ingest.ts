import {
  type ChorusEvent,
  DEFAULT_ENV,
  type EventInput,
  eventInputSchema,
  MAX_EVENT_BYTES,
  RESERVED_INTENT_EVENT_TYPES,
} from "@chorus/protocol";
import { v7 as uuidv7 } from "uuid";
import { type CommitSignal, lastSeq } from "./delivery/commit-signal.js";
import type { StorageTrouble } from "./storage-trouble.js";
import type { InsertResult, NewEvent, Store } from "./store/types.js";

/** Why one event of a batch was refused. `index` is its position in the batch. */
export interface EventIssue {
  index: number;
  code: "validation_failed" | "payload_too_large";
  message: string;
  issues?: { path: string; message: string }[];
}

export type NormalizeResult =
  | { ok: true; events: NewEvent[] }
  | { ok: false; problems: EventIssue[] };

/**
 * Validate raw events with the protocol schema and fill the defaults the hub owns. The batch
 * is all or nothing: one bad event refuses the batch with every problem listed, so a client
 * never has to guess which of its events were stored.
 */
export function normalizeEvents(raw: readonly unknown[], now = new Date()): NormalizeResult {
  const events: NewEvent[] = [];
  const problems: EventIssue[] = [];
  raw.forEach((item, index) => {
    const parsed = eventInputSchema.safeParse(item);
    if (!parsed.success) {
      problems.push({
        index,
        code: "validation_failed",
        message: "invalid event",
        issues: parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })),
      });
      return;
    }
    // The hub alone writes intent lifecycle events; accepting them from a publisher (HTTP or
    // MQTT) would let it forge an intent's log, and a fake state change reaches every agent.
    if (RESERVED_INTENT_EVENT_TYPES.has(parsed.data.type)) {
      problems.push({
        index,
        code: "validation_failed",
        message: `type "${parsed.data.type}" is written by the hub only`,
        issues: [{ path: "type", message: "reserved intent event type" }],
      });
      return;
    }
    const size = jsonSize(item);
    if (size > MAX_EVENT_BYTES) {
      problems.push({
        index,
        code: "payload_too_large",
        message: `event is ${size} bytes; the limit is ${MAX_EVENT_BYTES}`,
      });
      return;
    }
    events.push(withDefaults(parsed.data, now));
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, events };
}

function withDefaults(input: EventInput, now: Date): NewEvent {
  const event: NewEvent = {
    id: input.id ?? uuidv7(),
    channel: input.channel,
    env: input.env ?? DEFAULT_ENV,
    type: input.type,
    payload: input.payload ?? {},
    metadata: input.metadata ?? {},
    occurredAt: input.occurredAt ?? now.toISOString(),
  };
  if (input.app !== undefined) event.app = input.app;
  if (input.agent !== undefined) event.agent = input.agent;
  if (input.traceId !== undefined) event.traceId = input.traceId;
  if (input.spanId !== undefined) event.spanId = input.spanId;
  if (input.parentSpanId !== undefined) event.parentSpanId = input.parentSpanId;
  if (input.intentId !== undefined) event.intentId = input.intentId;
  return event;
}

function jsonSize(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? "", "utf8");
}

/**
 * Store, then signal the commit so the delivery tail fans the events out: the one path by which
 * events enter the hub (HTTP and MQTT alike).
 */
export async function storeAndPublish(
  deps: { store: Store; commits: CommitSignal; storageTrouble?: StorageTrouble },
  org: string,
  events: NewEvent[],
): Promise<InsertResult> {
  const result = await deps.store.insertEvents(org, events);
  deps.storageTrouble?.clear();
  const seq = lastSeq(result.inserted);
  if (seq !== undefined) deps.commits.committed(seq);
  return result;
}

export type { ChorusEvent };
