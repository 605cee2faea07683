import { eventInputSchema, type EventInput, MAX_EVENT_BYTES } from "@chorus/protocol";
import { type CaptureOptions, sanitizeObject } from "./capture.js";
import { ChorusError, PayloadTooLargeError, ValidationError } from "./errors.js";
import { newEventId } from "./ids.js";
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
}

export type BuildResult = { ok: true; value: BuiltEvent } | { ok: false; error: ChorusError };

/**
 * Stamp, capture, validate (with the hub's own schema) and serialize one event. Never throws:
 * whatever the input (a throwing getter, a circular payload, not even an object) the answer is
 * a built event or a typed error.
 */
export function buildEvent(input: unknown, defaults: EventDefaults, capture: CaptureOptions): BuildResult {
  try {
    if (typeof input !== "object" || input === null || Array.isArray(input)) {
      return { ok: false, error: new ValidationError("event must be an object", { field: "event" }) };
    }
    const source = { ...(input as Record<string, unknown>) };
    const trace = currentTrace();
    const inherit = trace !== undefined && (source.traceId === undefined || source.traceId === trace.traceId);
    const event: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(source)) if (value !== undefined) event[key] = value;

    event.id ??= newEventId();
    event.channel ??= defaults.channel;
    if (event.env === undefined && defaults.env !== undefined) event.env = defaults.env;
    if (event.app === undefined && defaults.app !== undefined) event.app = defaults.app;
    const agent = event.agent ?? trace?.agent ?? defaults.agent;
    if (agent !== undefined) event.agent = agent;
    if (inherit) {
      event.traceId ??= trace.traceId;
      if (event.spanId === undefined) {
        event.spanId = trace.spanId;
        if (event.parentSpanId === undefined && trace.parentSpanId !== undefined) event.parentSpanId = trace.parentSpanId;
      }
      if (event.intentId === undefined && trace.intentId !== undefined) event.intentId = trace.intentId;
    }
    if (event.occurredAt instanceof Date) {
      event.occurredAt = Number.isNaN(event.occurredAt.getTime()) ? undefined : event.occurredAt.toISOString();
    }
    event.occurredAt ??= new Date().toISOString();
    if (event.payload !== undefined) event.payload = sanitizeObject(event.payload, capture);
    if (event.metadata !== undefined) event.metadata = sanitizeObject(event.metadata, capture);

    const parsed = eventInputSchema.safeParse(event);
    if (!parsed.success) {
      const { message, field } = describeIssues(parsed.error.issues);
      return { ok: false, error: new ValidationError(`invalid event: ${message}`, { field, details: parsed.error.issues }) };
    }
    const json = JSON.stringify(event);
    const bytes = Buffer.byteLength(json, "utf8");
    if (bytes > MAX_EVENT_BYTES) {
      return {
        ok: false,
        error: new PayloadTooLargeError(`event is ${bytes} bytes; the limit is ${MAX_EVENT_BYTES}`, { details: { bytes } }),
      };
    }
    return { ok: true, value: { event: event as EventInput, json, bytes } };
  } catch (error) {
    return {
      ok: false,
      error: new ValidationError(`event could not be read: ${error instanceof Error ? error.message : String(error)}`, {
        field: "event",
        cause: error,
      }),
    };
  }
}
