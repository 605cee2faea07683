import {
  DEFAULT_PAGE_LIMIT,
  eventQuerySchema,
  MAX_BATCH_EVENTS,
  MAX_PAGE_BYTES,
  type PublishResult,
} from "@chorus/protocol";
import type { FastifyInstance } from "fastify";
import type { HubContext } from "../../context.js";
import { type EventIssue, normalizeEvents, storeAndPublish } from "../../ingest.js";
import { allowChannel, allowIntentEvent, principalOf } from "../auth-hook.js";
import { HttpError } from "../errors.js";
import { sendEventPage } from "../page-hints.js";
import { parseTraceparent, withTraceParent } from "../traceparent.js";
import { parseWith, requireObjectBody } from "../validate.js";

/** `POST /v1/events` and `GET /v1/events`. */
export function registerEventRoutes(app: FastifyInstance, ctx: HubContext): void {
  const route = (scope: "publish" | "read") => ({ config: { scope, channelChecked: true } });
  app.post("/v1/events", route("publish"), async (request, reply) => {
    const principal = principalOf(request);
    const { org } = principal;
    // A W3C traceparent header puts every event without a trace of its own into the caller's trace.
    const raw = withTraceParent(
      eventsOf(requireObjectBody(request.body)),
      parseTraceparent(request.headers.traceparent),
    );
    const normalized = normalizeEvents(raw);
    if (!normalized.ok) {
      ctx.metrics.eventsRejected.inc({ source: "http" }, normalized.problems.length);
      throw refusal(normalized.problems, raw.length);
    }
    for (const event of normalized.events) {
      allowChannel(principal, event.channel);
      allowIntentEvent(principal, event.intentId);
    }
    const result = await storeAndPublish(ctx, org, normalized.events);
    ctx.metrics.eventsIngested.inc({ source: "http" }, result.inserted.length);
    if (result.duplicates > 0) ctx.metrics.eventsDuplicate.inc(result.duplicates);
    const body: PublishResult = {
      accepted: result.inserted.length,
      duplicates: result.duplicates,
      ids: result.ids,
    };
    return reply.code(202).send(body);
  });

  app.get("/v1/events", route("read"), async (request, reply) => {
    const principal = principalOf(request);
    const { org } = principal;
    const { after, limit, ...filter } = parseWith(eventQuerySchema, request.query, "query");
    allowChannel(principal, filter.channel);
    const page = await ctx.store.listEventsJson(org, filter, {
      after,
      limit: limit ?? DEFAULT_PAGE_LIMIT,
      maxBytes: MAX_PAGE_BYTES,
    });
    return sendEventPage(ctx, reply, page, after);
  });
}

/**
 * The events of a publish body: `{ events: [...] }` is a batch, anything else one event.
 * A batch over {@link MAX_BATCH_EVENTS} is refused as too large (413) rather than invalid:
 * the fix is the same as for an oversize body, split it.
 */
function eventsOf(body: Record<string, unknown>): unknown[] {
  if (!Object.hasOwn(body, "events")) return [body];
  const { events } = body;
  if (!Array.isArray(events)) {
    throw new HttpError("validation_failed", "events must be an array", {
      issues: [{ path: "body.events", message: "expected an array" }],
    });
  }
  if (Object.keys(body).length > 1) {
    const extra = Object.keys(body).filter((k) => k !== "events");
    throw new HttpError("validation_failed", "unknown fields next to events", {
      issues: extra.map((k) => ({ path: `body.${k}`, message: "unknown field" })),
    });
  }
  if (events.length === 0) throw new HttpError("validation_failed", "events must not be empty");
  if (events.length > MAX_BATCH_EVENTS) {
    throw new HttpError("payload_too_large", `a batch holds at most ${MAX_BATCH_EVENTS} events`, {
      limit: MAX_BATCH_EVENTS,
      received: events.length,
    });
  }
  return events;
}

/** 413 when every problem is size, 400 otherwise; the per-index list goes into details either way. */
function refusal(problems: EventIssue[], count: number): HttpError {
  const tooLarge = problems.every((p) => p.code === "payload_too_large");
  const code = tooLarge ? "payload_too_large" : "validation_failed";
  const single = count === 1 ? problems[0] : undefined;
  if (single) {
    const issues = (single.issues ?? []).map((i) => ({
      ...i,
      path: i.path ? `body.${i.path}` : "body",
    }));
    return new HttpError(code, single.message, { issues });
  }
  return new HttpError(code, `${problems.length} of ${count} events refused; nothing was stored`, {
    problems,
  });
}
