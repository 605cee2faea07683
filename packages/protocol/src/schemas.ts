import { z } from "zod";
import {
  MAX_BATCH_EVENTS,
  MAX_ID_LENGTH,
  MAX_NAME_LENGTH,
  MAX_PAGE_LIMIT,
  MAX_TYPE_LENGTH,
} from "./limits.js";

/*
 * One source of truth for what hub and client accept. The hub validates every request with
 * these; the client validates in `emit()` with the same schemas, so an event the client queues
 * is an event the hub will take.
 */

/**
 * Channel, env, app and agent names: any printable text, because frameworks hand us names like
 * `research/web` or `Support #2` and an event refused in `emit()` is an event lost. Only control
 * characters (C0, DEL, C1) are refused. Names become MQTT topic levels, where the topic codec
 * percent-encodes `/ + # %`, so no name can inject a level; in URL paths they are
 * percent-encoded like any other text.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const NAME_PATTERN = /^[^\u0000-\u001f\u007f-\u009f]+$/;
const TYPE_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.:-]*$/;
const ID_PATTERN = /^[A-Za-z0-9_.:-]+$/;
export const TRACE_ID_PATTERN = /^[0-9a-f]{32}$/;
export const SPAN_ID_PATTERN = /^[0-9a-f]{16}$/;

export const nameSchema = z
  .string()
  .min(1)
  .max(MAX_NAME_LENGTH)
  .regex(NAME_PATTERN, "must not contain control characters");
export const typeSchema = z
  .string()
  .min(1)
  .max(MAX_TYPE_LENGTH)
  .regex(TYPE_PATTERN, "must be a dotted name of letters, digits, '_', '-', ':'");
export const idSchema = z
  .string()
  .min(1)
  .max(MAX_ID_LENGTH)
  .regex(ID_PATTERN, "must contain only letters, digits, '_', '-', '.', ':'");
export const traceIdSchema = z
  .string()
  .regex(TRACE_ID_PATTERN, "must be 32 lowercase hex characters (W3C trace-id)");
export const spanIdSchema = z
  .string()
  .regex(SPAN_ID_PATTERN, "must be 16 lowercase hex characters (W3C span-id)");
export const jsonObjectSchema = z.record(z.string(), z.unknown());
export const timestampSchema = z.iso.datetime({ offset: true });

/** What a client sends: one event. `id` and `occurredAt` are stamped by the client; the hub fills them when absent. */
export const eventInputSchema = z.strictObject({
  id: idSchema.optional(),
  channel: nameSchema,
  env: nameSchema.optional(),
  app: nameSchema.optional(),
  type: typeSchema,
  agent: nameSchema.optional(),
  traceId: traceIdSchema.optional(),
  spanId: spanIdSchema.optional(),
  parentSpanId: spanIdSchema.optional(),
  intentId: idSchema.optional(),
  payload: jsonObjectSchema.optional(),
  metadata: jsonObjectSchema.optional(),
  occurredAt: timestampSchema.optional(),
});
export type EventInput = z.infer<typeof eventInputSchema>;

export const eventBatchSchema = z.strictObject({
  events: z.array(z.unknown()).min(1).max(MAX_BATCH_EVENTS),
});

/** An event as the hub stores, lists, streams and publishes it. */
export interface ChorusEvent {
  id: string;
  seq: number;
  channel: string;
  env: string;
  app?: string;
  type: string;
  agent?: string;
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  intentId?: string;
  payload: Record<string, unknown>;
  metadata: Record<string, unknown>;
  occurredAt: string;
  receivedAt: string;
}

export interface PublishResult {
  accepted: number;
  duplicates: number;
  ids: string[];
}

export interface Page<T> {
  data: T[];
  /** The `after` cursor for the next page; absent on the last page. */
  next?: number;
}

const limitSchema = z.coerce.number().int().min(1).max(MAX_PAGE_LIMIT);
const seqSchema = z.coerce.number().int().min(0);

export const eventQuerySchema = z.strictObject({
  channel: nameSchema.optional(),
  type: typeSchema.optional(),
  agent: nameSchema.optional(),
  app: nameSchema.optional(),
  env: nameSchema.optional(),
  traceId: traceIdSchema.optional(),
  intentId: idSchema.optional(),
  after: seqSchema.optional(),
  limit: limitSchema.optional(),
});
export type EventQuery = z.infer<typeof eventQuerySchema>;

/** Comma-separated `types=a,b` filter on SSE endpoints. */
export const typesParamSchema = z
  .string()
  .transform((s) =>
    s
      .split(",")
      .map((t) => t.trim())
      .filter(Boolean),
  )
  .pipe(z.array(typeSchema).max(50));

export const streamQuerySchema = z.strictObject({
  types: typesParamSchema.optional(),
  type: typeSchema.optional(),
  agent: nameSchema.optional(),
  app: nameSchema.optional(),
  env: nameSchema.optional(),
  traceId: traceIdSchema.optional(),
  intentId: idSchema.optional(),
  /** Resume point for clients that cannot set the `Last-Event-ID` header. */
  after: seqSchema.optional(),
});
export type StreamQuery = z.infer<typeof streamQuerySchema>;
