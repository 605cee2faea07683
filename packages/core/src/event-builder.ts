import type { EventInput } from "@chorus/protocol";
import { MAX_EVENT_BYTES, SPAN_ID_PATTERN, TRACE_ID_PATTERN } from "@chorus/protocol/wire";
import { CANONICAL_PAYLOAD_FIELDS, Capture, type CaptureOptions } from "./capture.js";
import { type ChorusError, PayloadTooLargeError, ValidationError } from "./errors.js";
import { EventIdGenerator } from "./ids.js";
import { fitOversize, loadSchemas, type Schemas, schemasNow, utf8Length } from "./platform.js";
import { currentTrace } from "./trace.js";
import { describeIssues } from "./validate.js";

/**
 * What callers pass to `emit()` and `events.publish()`. Only `type` is required: the channel,
 * env, app and agent default from the client's options, ids and time are stamped, and trace
 * context comes from the current `withTrace()` scope.
 */
export interface EmitEvent {
  type: string;
  channel?: string;
  env?: string;
  app?: string;
  agent?: string;
  /** Idempotency key; a UUIDv7 is generated when absent. */
  id?: string;
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  intentId?: string;
  /** Any object; content capture makes it JSON-safe, truncated and redacted. */
  payload?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  occurredAt?: string | Date;
}

export interface EventDefaults {
  channel: string;
  env: string | undefined;
  app: string | undefined;
  agent: string | undefined;
}

/** A stamped, captured, validated event, serialized once. */
export interface BuiltEvent {
  event: EventInput;
  json: string;
  bytes: number;
  /**
   * Set when the schemas were not loaded yet (the browser entry loads them on first use): the
   * event still has to pass {@link EventBuilder.check} before it is sent.
   */
  unchecked?: true;
}

export type BuildResult = { ok: true; value: BuiltEvent } | { ok: false; error: ChorusError };

/** The fields of the protocol's (strict) event schema, read from the schema once it is loaded. */
let eventKeys: ReadonlySet<string> | undefined;
/** Name fields whose validity is memoized, each on its own (see {@link EventBuilder}). */
const ENVELOPE_KEYS = ["type", "channel", "env", "app", "agent", "intentId"] as const;
/** Distinct values remembered per field and client: an app uses a handful of channels and types. */
const ENVELOPE_MEMO_SIZE = 1024;
/**
 * The time of day of a UTC timestamp as `toISOString()` writes it, read from index 10 (after the
 * date): the same rule as the protocol's `timestampSchema` for a `Z` suffix.
 */
const UTC_TIME_OF_DAY = /T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?Z$/y;
/** Trace and span ids remembered as valid: a run's events repeat a handful of them. */
const RECENT_IDS = 8;

/**
 * Stamps, captures, validates and serializes events for one client. Never throws: whatever the
 * input (a throwing getter, a circular payload, not even an object) the answer is a built event
 * or a typed error.
 *
 * Validation is the hub's own `eventInputSchema`. Because that schema checks each field on its
 * own (a strict object, no cross-field rules), a type, channel, env, app, agent or intent id that
 * passed once passes again; each field's valid values are memoized, and an event whose name
 * fields are all known only has its trace ids, and its own `id` and `occurredAt` when it carries
 * them (adapters stamp a span's start time), checked with the protocol's own patterns and
 * schemas (a timestamp's date once per day, its time of day with the schema's own rule).
 * Payload and metadata are plain objects by construction after capture. Events with unknown
 * fields or a new envelope take the full schema. This keeps `emit()` in the low microseconds
 * on the hot path.
 */
export class EventBuilder {
  readonly #defaults: EventDefaults;
  readonly #capture: Capture;
  readonly #ids = new EventIdGenerator();
  /** Per name field (in {@link ENVELOPE_KEYS} order), the values the schema accepted. */
  readonly #validNames: Set<string>[] = ENVELOPE_KEYS.map(() => new Set<string>());
  /** A ring of trace and span ids that matched the protocol's patterns. */
  readonly #validIds: string[] = [];
  #nextId = 0;
  /** The date (`YYYY-MM-DD`) of the last `occurredAt` the schema accepted. */
  #validDate = "";
  #lastMs = -1;
  #lastIso = "";

  constructor(defaults: EventDefaults, capture: CaptureOptions) {
    this.#defaults = defaults;
    this.#capture = new Capture(capture);
  }

  /** `fit`: an event over the size limit loses its largest fields instead (`emit()`, Node). */
  build(input: unknown, fit?: boolean): BuildResult {
    try {
      return this.#build(input, fit);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return {
        ok: false,
        error: new ValidationError(`event could not be read: ${message}`, {
          field: "event",
          cause: error,
        }),
      };
    }
  }

  #build(input: unknown, fit: boolean | undefined): BuildResult {
    if (typeof input !== "object" || input === null || Array.isArray(input)) {
      return {
        ok: false,
        error: new ValidationError("event must be an object", { field: "event" }),
      };
    }
    const source = input as Record<string, unknown>;
    const event: Record<string, unknown> = {};
    const schemas = schemasNow();
    if (schemas !== undefined && eventKeys === undefined)
      eventKeys = new Set(Object.keys(schemas.eventInputSchema.shape));
    const keys = eventKeys;
    let unknownKeys = keys === undefined;
    for (const key of Object.keys(source)) {
      const value = source[key];
      if (value === undefined) continue;
      event[key] = value;
      if (keys !== undefined && !keys.has(key)) unknownKeys = true;
    }

    const defaults = this.#defaults;
    event.channel ??= defaults.channel;
    if (event.env === undefined && defaults.env !== undefined) event.env = defaults.env;
    if (event.app === undefined && defaults.app !== undefined) event.app = defaults.app;
    const trace = currentTrace();
    const agent = event.agent ?? trace?.agent ?? defaults.agent;
    if (agent !== undefined) event.agent = agent;
    if (trace !== undefined && (event.traceId === undefined || event.traceId === trace.traceId)) {
      event.traceId = trace.traceId;
      if (event.spanId === undefined) {
        event.spanId = trace.spanId;
        if (event.parentSpanId === undefined && trace.parentSpanId !== undefined)
          event.parentSpanId = trace.parentSpanId;
      }
      if (event.intentId === undefined && trace.intentId !== undefined)
        event.intentId = trace.intentId;
    }
    if (event.occurredAt instanceof Date) {
      const time = event.occurredAt.getTime();
      event.occurredAt = Number.isNaN(time) ? "Invalid Date" : event.occurredAt.toISOString();
    }
    // Serialized below, before anything else runs: capture may hand back the caller's own
    // objects (`serializeNow`), and the JSON is their snapshot.
    if (event.payload !== undefined) {
      event.payload = this.#capture.object(
        event.payload,
        CANONICAL_PAYLOAD_FIELDS.get(event.type as string),
        true,
      );
    }
    if (event.metadata !== undefined)
      event.metadata = this.#capture.object(event.metadata, undefined, true);

    const stampId = event.id === undefined;
    const stampTime = event.occurredAt === undefined;
    const fast =
      schemas !== undefined &&
      !unknownKeys &&
      this.#namesKnown(event) &&
      this.#traceIdsValid(event) &&
      (stampId || schemas.isId(event.id)) &&
      (stampTime || this.#timeKnown(event.occurredAt));
    let unchecked = false;
    if (!fast) {
      if (schemas === undefined) {
        // The browser entry before its first validation: check when the batch goes out.
        unchecked = true;
        loadSchemas().catch(() => {}); // a failed load is retried by the check before sending
      } else {
        const error = invalidEvent(schemas, event);
        if (error !== undefined) return { ok: false, error };
        this.#remember(event);
      }
    }

    const now = Date.now();
    if (stampId) event.id = this.#ids.next(now);
    if (stampTime) event.occurredAt = this.#iso(now);
    let json = JSON.stringify(event);
    let bytes = utf8Length(json);
    if (bytes > MAX_EVENT_BYTES && fit && fitOversize)
      ({ json, bytes } = fitOversize(event, json, bytes));
    if (bytes > MAX_EVENT_BYTES) {
      return {
        ok: false,
        error: new PayloadTooLargeError(
          `event is ${bytes} bytes; the limit is ${MAX_EVENT_BYTES}`,
          {
            details: { bytes },
          },
        ),
      };
    }
    const value: BuiltEvent = { event: event as EventInput, json, bytes };
    if (unchecked) value.unchecked = true;
    return { ok: true, value };
  }

  /** Whether every name field is absent or a value the schema accepted before. */
  #namesKnown(event: Record<string, unknown>): boolean {
    for (let i = 0; i < ENVELOPE_KEYS.length; i++) {
      const v = event[ENVELOPE_KEYS[i] as string];
      if (
        v !== undefined &&
        !(typeof v === "string" && (this.#validNames[i] as Set<string>).has(v))
      )
        return false;
    }
    return true;
  }

  /** After the schema accepted `event`: remember its name fields, trace ids and date. */
  #remember(event: Record<string, unknown>): void {
    for (let i = 0; i < ENVELOPE_KEYS.length; i++) {
      const v = event[ENVELOPE_KEYS[i] as string];
      if (typeof v !== "string") continue;
      const known = this.#validNames[i] as Set<string>;
      if (known.size >= ENVELOPE_MEMO_SIZE) known.clear();
      known.add(v);
    }
    const at = event.occurredAt;
    if (typeof at === "string" && at.length > 10) this.#validDate = at.slice(0, 10);
  }

  #traceIdsValid(event: Record<string, unknown>): boolean {
    const { traceId, spanId, parentSpanId } = event;
    return (
      (traceId === undefined || this.#idValid(traceId, 32, TRACE_ID_PATTERN)) &&
      (spanId === undefined || this.#idValid(spanId, 16, SPAN_ID_PATTERN)) &&
      (parentSpanId === undefined || this.#idValid(parentSpanId, 16, SPAN_ID_PATTERN))
    );
  }

  /** A trace or span id against its pattern; the last few that matched are not tested again. */
  #idValid(id: unknown, length: number, pattern: RegExp): boolean {
    // The ring holds both kinds: the length keeps a span id from passing as a trace id.
    if (typeof id !== "string" || id.length !== length) return false;
    const recent = this.#validIds;
    for (let i = 0; i < recent.length; i++) if (recent[i] === id) return true;
    if (!pattern.test(id)) return false;
    recent[this.#nextId] = id;
    this.#nextId = (this.#nextId + 1) % RECENT_IDS;
    return true;
  }

  /**
   * Whether `occurredAt` passes the protocol's `timestampSchema` without running it: a UTC time
   * (`toISOString()`'s form) on the date of the last timestamp the schema accepted. Anything else
   * (a new day, an offset) takes the schema, via the full event check.
   */
  #timeKnown(at: unknown): boolean {
    if (typeof at !== "string" || this.#validDate === "" || !at.startsWith(this.#validDate))
      return false;
    UTC_TIME_OF_DAY.lastIndex = 10;
    return UTC_TIME_OF_DAY.test(at);
  }

  /** `toISOString()` once per millisecond: a burst of events shares the string. */
  #iso(ms: number): string {
    if (ms !== this.#lastMs) {
      this.#lastMs = ms;
      this.#lastIso = new Date(ms).toISOString();
    }
    return this.#lastIso;
  }
}

/** The schema's verdict on a built event, as `emit()` reports it; `undefined` when valid. */
export function invalidEvent(schemas: Schemas, event: unknown): ValidationError | undefined {
  const parsed = schemas.eventInputSchema.safeParse(event);
  if (parsed.success) return undefined;
  const { message, field } = describeIssues(parsed.error.issues);
  return new ValidationError(`invalid event: ${message}`, {
    field,
    details: parsed.error.issues,
  });
}
