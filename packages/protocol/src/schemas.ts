import {
  MAX_BATCH_EVENTS,
  MAX_ID_LENGTH,
  MAX_JSON_DEPTH,
  MAX_NAME_LENGTH,
  MAX_PAGE_LIMIT,
  MAX_TYPE_LENGTH,
} from "./limits.js";
import { SPAN_ID_PATTERN, TRACE_ID_PATTERN } from "./patterns.js";
import * as z from "zod/mini";
import "./zod.js";

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
 *
 * Except `.` and `..`, as names and as ids: every URL client resolves them as path segments
 * (`/v1/intents/..` is `/v1/`, percent-encoded or not), so an intent, channel or agent of that
 * name could be created but never read, streamed or changed.
 */
const NAME_PATTERN =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  /^(?!\.\.?$)(?:[^\u0000-\u001f\u007f-\u009f\ud800-\udfff]|[\ud800-\udbff][\udc00-\udfff])+$/;
/**
 * Half of a UTF-16 surrogate pair on its own: no character at all. A database stores it as
 * U+FFFD (SQLite) or refuses it (Postgres), so two names that differ only there would become one,
 * and an idempotent retry would no longer match what was stored. Names refuse it (above), as do
 * the intent texts kept in columns (`wellFormed`).
 */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** A check for strings a store keeps as text: no {@link LONE_SURROGATE}. */
export const wellFormed = z.refine<string>((value) => !LONE_SURROGATE.test(value), {
  message: "must not contain unpaired UTF-16 surrogates",
});
const TYPE_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.:-]*$/;
const ID_PATTERN = /^(?!\.\.?$)[A-Za-z0-9_.:-]+$/;

/** What `nameSchema` accepts, without a schema run: for hot paths that check one name. */
export function isName(value: unknown): value is string {
  return typeof value === "string" && value.length <= MAX_NAME_LENGTH && NAME_PATTERN.test(value);
}

/**
 * What `idSchema` accepts, without a schema run: adapters give each event its own id (the OTel
 * span processor does, so a resent start is stored once), and `emit()` checks it on its hot path.
 */
export function isId(value: unknown): value is string {
  return typeof value === "string" && value.length <= MAX_ID_LENGTH && ID_PATTERN.test(value);
}

export const nameSchema = z
  .string()
  .check(
    z.minLength(1),
    z.maxLength(MAX_NAME_LENGTH),
    z.regex(
      NAME_PATTERN,
      "must not contain control characters or unpaired UTF-16 surrogates, nor be '.' or '..'",
    ),
  );
export const typeSchema = z
  .string()
  .check(
    z.minLength(1),
    z.maxLength(MAX_TYPE_LENGTH),
    z.regex(TYPE_PATTERN, "must be a dotted name of letters, digits, '_', '-', ':'"),
  );
export const idSchema = z
  .string()
  .check(
    z.minLength(1),
    z.maxLength(MAX_ID_LENGTH),
    z.regex(
      ID_PATTERN,
      "must contain only letters, digits, '_', '-', '.', ':', and not be '.' or '..'",
    ),
  );
export const traceIdSchema = z
  .string()
  .check(z.regex(TRACE_ID_PATTERN, "must be 32 lowercase hex characters (W3C trace-id)"));
export const spanIdSchema = z
  .string()
  .check(z.regex(SPAN_ID_PATTERN, "must be 16 lowercase hex characters (W3C span-id)"));
export const jsonObjectSchema = z.record(z.string(), z.unknown());

/**
 * Why a JSON value cannot go to the hub as it is, or `undefined`: an own `__proto__` key or
 * nesting deeper than {@link MAX_JSON_DEPTH} (objects and arrays), the two things the hub refuses
 * in any JSON body. A client must check them on the value itself: copying it (a validator, a
 * spread, a merge patch) turns a `__proto__` key into a prototype and silently drops it, and
 * walking a value nested thousands deep overflows the stack. Iterative, so a value of any depth
 * (even a cyclic one) gets this answer; `field` prefixes the path in the message. `depth` is
 * the level of `value` itself in the request body, as the hub counts (the body is level 1, so a
 * field of the body, such as an event's payload, is at level 2).
 */
export function jsonShapeProblem(value: unknown, field = "value", depth = 1): string | undefined {
  const stack: [unknown, number, string][] = [[value, depth, field]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [current, depth, path] = top;
    if (typeof current !== "object" || current === null) continue;
    if (depth > MAX_JSON_DEPTH)
      return `${path}: nested deeper than ${MAX_JSON_DEPTH} levels (objects and arrays)`;
    for (const key of Object.keys(current)) {
      if (key === "__proto__") return `${path}.__proto__: keys named __proto__ are not accepted`;
      stack.push([(current as Record<string, unknown>)[key], depth + 1, `${path}.${key}`]);
    }
  }
  return undefined;
}
export const timestampSchema = z.iso.datetime({ offset: true });

/** What a client sends: one event. `id` and `occurredAt` are stamped by the client; the hub fills them when absent. */
export const eventInputSchema = z.strictObject({
  id: z.optional(idSchema),
  channel: nameSchema,
  env: z.optional(nameSchema),
  app: z.optional(nameSchema),
  type: typeSchema,
  agent: z.optional(nameSchema),
  traceId: z.optional(traceIdSchema),
  spanId: z.optional(spanIdSchema),
  parentSpanId: z.optional(spanIdSchema),
  intentId: z.optional(idSchema),
  payload: z.optional(jsonObjectSchema),
  metadata: z.optional(jsonObjectSchema),
  occurredAt: z.optional(timestampSchema),
});
export type EventInput = z.infer<typeof eventInputSchema>;

export const eventBatchSchema = z.strictObject({
  events: z.array(z.unknown()).check(z.minLength(1), z.maxLength(MAX_BATCH_EVENTS)),
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

/** A page of stored events, by seq. */
export interface Page<T> {
  data: T[];
  /** The `after` cursor for the next page; absent on the last page. */
  next?: number;
  /**
   * The hub store's epoch: the seqs of this page (and `next`) count in it, and only in it.
   * Keep it with a cursor you store and pass it back as a stream's `{ after, epoch }`. Absent
   * on a client's fail-open empty page, which no hub answered.
   */
  epoch?: string;
  /**
   * The lowest seq the hub still holds, present when the `after` asked for lies below it: the
   * hub's retention deleted the events in between, so a reader resuming from a stored cursor
   * missed whatever of them matched.
   */
  oldest?: number;
  /**
   * The `after` asked for, present when it lies beyond the newest seq the hub's store holds (a
   * store restored from a backup keeps its epoch; a made-up cursor): the page is empty, and the
   * store numbers new events at or below that cursor, so a reader paging on from it would skip
   * them. Start again from the beginning (no `after`), as a stream does (its ready message's
   * `ahead`).
   */
  ahead?: number;
}

/**
 * A whole number given as a number (a client's query object) or as the decimal digits a query
 * string carries. Stricter than `z.coerce.number()`, which reads `""` and `" "` as 0 and `0x1`,
 * `1e3` as numbers: a cursor spelled wrong is refused instead of restarting a reader at page one.
 */
export function wholeNumberSchema(min: number, max = Number.MAX_SAFE_INTEGER) {
  return z.pipe(
    z.union([
      z.number(),
      z.pipe(
        z.string().check(z.regex(/^\d{1,16}$/, "expected a whole number")),
        z.transform(Number),
      ),
    ]),
    z.number().check(z.int(), z.minimum(min), z.maximum(max)),
  );
}

const limitSchema = wholeNumberSchema(1, MAX_PAGE_LIMIT);
const seqSchema = wholeNumberSchema(0);

export const eventQuerySchema = z.strictObject({
  channel: z.optional(nameSchema),
  type: z.optional(typeSchema),
  agent: z.optional(nameSchema),
  app: z.optional(nameSchema),
  env: z.optional(nameSchema),
  traceId: z.optional(traceIdSchema),
  intentId: z.optional(idSchema),
  after: z.optional(seqSchema),
  limit: z.optional(limitSchema),
});
export type EventQuery = z.infer<typeof eventQuerySchema>;

/** Comma-separated `types=a,b` filter on SSE endpoints. */
export const typesParamSchema = z.pipe(
  z.pipe(
    z.string(),
    z.transform((s: string) =>
      s
        .split(",")
        .map((t) => t.trim())
        .filter(Boolean),
    ),
  ),
  z.array(typeSchema).check(z.maxLength(50)),
);

export const streamQuerySchema = z.strictObject({
  types: z.optional(typesParamSchema),
  type: z.optional(typeSchema),
  agent: z.optional(nameSchema),
  app: z.optional(nameSchema),
  env: z.optional(nameSchema),
  traceId: z.optional(traceIdSchema),
  intentId: z.optional(idSchema),
  /** Resume point for clients that cannot set the `Last-Event-ID` header. */
  after: z.optional(seqSchema),
});
export type StreamQuery = z.infer<typeof streamQuerySchema>;

/** The query of an intent's log (`GET /v1/intents/:id/events`): a type, a cursor, a limit. */
export const intentLogQuerySchema = z.pick(eventQuerySchema, {
  type: true,
  after: true,
  limit: true,
});

/** The query of an intent's stream: a channel stream's filters but the intent, which the path names. */
export const intentStreamQuerySchema = z.omit(streamQuerySchema, { intentId: true });
