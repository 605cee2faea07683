import {
  ATTRIBUTES,
  DEFAULT_SPAN_STRING_LENGTH,
  fitEvent,
  MAX_EVENT_BYTES,
  type MappedEvent,
  mapSpan,
  nameSchema,
  type OtelSpan,
  redactSecrets,
} from "@chorus/protocol";
import type { FastifyInstance } from "fastify";
import type { HubContext } from "../../context.js";
import { normalizeEvents, storeAndPublish } from "../../ingest.js";
import { decodeOtlpTraces, OtlpDecodeError } from "../../otlp/decode.js";
import { encodeOtlpTraceResponse, type OtlpTraceResponse } from "../../otlp/response.js";
import type { NewEvent } from "../../store/types.js";
import { principalOf } from "../auth-hook.js";
import { HttpError } from "../errors.js";
import { headerText, refuseRepeatedHeader } from "../header-text.js";
import { installOtlpParsers, type OtlpBody, unsupportedType } from "../otlp/body.js";
import { protobufErrorBody } from "../otlp/status.js";

/** Channel of spans whose resource has no `chorus.channel` and whose request has no `Chorus-Channel` header (the client's default too). */
export const DEFAULT_TRACE_CHANNEL = "default";
/**
 * String cuts tried, in order, on a span whose events exceed the protocol's `MAX_EVENT_BYTES`: the
 * mapping's own truncation, made harder, instead of refusing the span.
 */
const SHRINKING_STRING_LENGTHS = [DEFAULT_SPAN_STRING_LENGTH, 1024, 256, 64];

/**
 * `POST /v1/traces`: OTLP/HTTP trace ingest. GenAI spans become the same events the in-process
 * `ChorusSpanProcessor` emits (the protocol's `mapSpan`: start and end, ids derived from trace,
 * span and phase, so a span sent twice is stored once); other spans are ignored. All events of a
 * request go to the store in one transaction; a request that is not valid OTLP stores nothing.
 */
export function registerTraceRoutes(app: FastifyInstance, ctx: HubContext): void {
  app.register(async (scope) => {
    installOtlpParsers(scope);
    scope.post(
      "/v1/traces",
      { config: { scope: "publish" }, onSend: protobufErrorBody },
      async (request, reply) => {
        const { org } = principalOf(request);
        const body = request.body as OtlpBody | undefined;
        if (body === undefined) throw unsupportedType();
        let spans: OtelSpan[];
        try {
          spans =
            body.format === "protobuf"
              ? decodeOtlpTraces(body.bytes, "protobuf")
              : decodeOtlpTraces(body.value, "json");
        } catch (error) {
          if (!(error instanceof OtlpDecodeError)) throw error;
          throw new HttpError(
            error.tooLarge ? "payload_too_large" : "validation_failed",
            `invalid OTLP request; nothing was stored: ${error.message}`,
            error.path === undefined
              ? undefined
              : { issues: [{ path: error.path, message: error.message }] },
          );
        }
        const headerChannel = channelHeader(
          request.headers["chorus-channel"],
          request.raw.rawHeaders,
        );
        const events: NewEvent[] = [];
        let rejected = 0;
        let reason: string | undefined;
        for (const span of spans) {
          const channel = resourceChannel(span) ?? headerChannel ?? DEFAULT_TRACE_CHANNEL;
          const result = eventsOfSpan(span, channel);
          if (result.ok) events.push(...result.events);
          else {
            rejected++;
            reason ??= result.reason;
          }
        }
        if (events.length > 0) {
          const stored = await storeAndPublish(ctx, org, events);
          ctx.metrics.eventsIngested.inc({ source: "otlp" }, stored.inserted.length);
          if (stored.duplicates > 0) ctx.metrics.eventsDuplicate.inc(stored.duplicates);
        }
        const response: OtlpTraceResponse = {};
        if (rejected > 0) {
          // A refused span is its two events (start and end) not stored.
          ctx.metrics.eventsRejected.inc({ source: "otlp" }, rejected * 2);
          response.partialSuccess = {
            rejectedSpans: rejected,
            errorMessage: `${rejected} GenAI span(s) could not be stored: ${reason}`,
          };
        }
        const type = body.format === "json" ? "application/json" : "application/x-protobuf";
        const encoded = encodeOtlpTraceResponse(response, body.format);
        return reply
          .code(200)
          .type(type)
          .send(typeof encoded === "string" ? encoded : Buffer.from(encoded));
      },
    );
  });
}

type SpanEvents = { ok: true; events: NewEvent[] } | { ok: false; reason: string };

/**
 * The span's events, validated as any published event is, with secret-looking keys redacted as
 * the client's content capture redacts them (`ChorusSpanProcessor` maps the same spans through
 * `emit()`). An event over the size limit is mapped
 * again with shorter strings, then loses its largest fields (`metadata.oversize` names them); a
 * span whose events are invalid otherwise is refused (counted in `partialSuccess`), never the
 * whole request.
 */
function eventsOfSpan(span: OtelSpan, channel: string): SpanEvents {
  let reason = "";
  let inputs: Record<string, unknown>[] = [];
  for (const maxStringLength of SHRINKING_STRING_LENGTHS) {
    const mapped = mapSpan(span, { maxStringLength });
    if (mapped.length === 0) return { ok: true, events: [] };
    inputs = mapped.map((event) => withChannel(event, channel));
    const normalized = normalizeEvents(inputs);
    if (normalized.ok) return { ok: true, events: normalized.events };
    const problem = normalized.problems[0];
    reason = `span ${span.spanId}: ${problem?.message ?? "invalid"}`;
    if (!normalized.problems.every((p) => p.code === "payload_too_large"))
      return { ok: false, reason };
  }
  // Short strings and still too big (a prompt of thousands of messages): the events lose their
  // largest fields, content first, and say so in `metadata.oversize`, as the client's emit() does.
  for (const input of inputs) {
    const json = JSON.stringify(input);
    const bytes = Buffer.byteLength(json);
    if (bytes > MAX_EVENT_BYTES) fitEvent(input, json, bytes, Buffer.byteLength);
  }
  const normalized = normalizeEvents(inputs);
  return normalized.ok ? { ok: true, events: normalized.events } : { ok: false, reason };
}

function withChannel(event: MappedEvent, channel: string): Record<string, unknown> {
  return {
    ...event,
    channel,
    payload: redactSecrets(event.payload),
    metadata: redactSecrets(event.metadata),
  };
}

function resourceChannel(span: OtelSpan): string | undefined {
  const value = span.resource?.[ATTRIBUTES.channel[0] as string];
  if (value === undefined || value === null || value === "") return undefined;
  // A number or a list here is a mistake, not "no channel": its spans would land in another channel.
  if (typeof value !== "string" || !nameSchema.safeParse(value).success) {
    throw new HttpError(
      "validation_failed",
      `resource attribute chorus.channel is not a valid channel name (a string without control characters); nothing was stored`,
      { issues: [{ path: "resource.attributes.chorus.channel", message: "invalid channel name" }] },
    );
  }
  return value;
}

/**
 * The `Chorus-Channel` header (UTF-8, see {@link headerText}). Sent twice, Node joins the values
 * with ", ", itself a valid channel name: counted in the raw headers and refused, rather than
 * stored under "a, b".
 */
function channelHeader(
  value: string | string[] | undefined,
  rawHeaders: readonly string[],
): string | undefined {
  if (value === undefined || value === "") return undefined;
  refuseRepeatedHeader(rawHeaders, "Chorus-Channel");
  const channel = typeof value === "string" ? headerText(value) : undefined;
  if (channel === undefined || !nameSchema.safeParse(channel).success) {
    throw new HttpError("validation_failed", "Chorus-Channel header is not a valid channel name", {
      issues: [{ path: "headers.chorus-channel", message: "invalid channel name" }],
    });
  }
  return channel;
}
