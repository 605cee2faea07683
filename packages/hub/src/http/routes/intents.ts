import {
  DEFAULT_PAGE_LIMIT,
  idSchema,
  INTENT_CHANNEL,
  IntentEventTypes,
  intentCreateSchema,
  intentEventInputSchema,
  intentLogQuerySchema,
  intentListQuerySchema,
  intentStatusChangeSchema,
  jsonObjectSchema,
  MAX_PAGE_BYTES,
  nameSchema,
  RESERVED_INTENT_EVENT_TYPES,
} from "@chorus/protocol";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { v7 as uuidv7 } from "uuid";
import type { HubContext } from "../../context.js";
import { normalizeEvents } from "../../ingest.js";
import { principalOf } from "../auth-hook.js";
import { HttpError, notFound } from "../errors.js";
import { sendEventPage } from "../page-hints.js";
import { parseWith, requireObjectBody } from "../validate.js";
import {
  actorOf,
  finishWrite,
  idempotencyKeyOf,
  parseIfMatch,
  sendIntent,
} from "./intent-writes.js";

/** The intent id of `/v1/intents/:id/...`, validated. */
export function intentIdParam(request: FastifyRequest): string {
  return parseWith(idSchema, (request.params as { id?: unknown }).id, "params.id");
}

/** Intents: create, read, list, state, status, assignees, and the intent log. */
export function registerIntentRoutes(app: FastifyInstance, ctx: HubContext): void {
  const publish = { config: { scope: "publish" as const } };
  const read = { config: { scope: "read" as const } };

  app.post("/v1/intents", publish, async (request, reply) => {
    const { org } = principalOf(request);
    const input = parseWith(intentCreateSchema, requireObjectBody(request.body), "body");
    const key = idempotencyKeyOf(request);
    // A keyed create without an id of its own takes the key as its id, so its resent copies
    // name the same intent.
    const result = await ctx.store.createIntent(
      org,
      { ...input, id: input.id ?? key ?? uuidv7(), createdBy: input.createdBy ?? actorOf(request) },
      key,
    );
    const { intent, replayed } = finishWrite(ctx, org, result);
    return sendIntent(
      reply.header("location", `/v1/intents/${encodeURIComponent(intent.id)}`),
      intent,
      201,
      replayed,
    );
  });

  app.get("/v1/intents", read, async (request) => {
    const { org } = principalOf(request);
    const query = parseWith(intentListQuerySchema, request.query, "query");
    return ctx.store.listIntents(org, query, MAX_PAGE_BYTES);
  });

  app.get("/v1/intents/:id", read, async (request, reply) => {
    const { org } = principalOf(request);
    const intent = await ctx.store.getIntent(org, intentIdParam(request));
    if (!intent) throw notFound("intent");
    return sendIntent(reply, intent);
  });

  app.patch("/v1/intents/:id/state", publish, async (request, reply) => {
    const { org } = principalOf(request);
    const id = intentIdParam(request);
    const ifMatch = parseIfMatch(request.headers["if-match"]);
    const patch = parseWith(jsonObjectSchema, requireObjectBody(request.body), "body");
    const result = await ctx.store.patchIntentState(org, id, patch, {
      ifMatch,
      actor: actorOf(request),
      key: idempotencyKeyOf(request),
    });
    const { intent, replayed } = finishWrite(ctx, org, result);
    return sendIntent(reply, intent, 200, replayed);
  });

  app.post("/v1/intents/:id/status", publish, async (request, reply) => {
    const { org } = principalOf(request);
    const id = intentIdParam(request);
    const ifMatch = parseIfMatch(request.headers["if-match"]);
    const change = parseWith(intentStatusChangeSchema, requireObjectBody(request.body), "body");
    const result = await ctx.store.setIntentStatus(org, id, {
      ...change,
      actor: actorOf(request),
      ifMatch,
      key: idempotencyKeyOf(request),
    });
    const { intent, replayed } = finishWrite(ctx, org, result);
    return sendIntent(reply, intent, 200, replayed);
  });

  // Assign and unassign differ only in the store call.
  for (const [method, on] of [
    ["POST", true],
    ["DELETE", false],
  ] as const) {
    app.route({
      method,
      url: "/v1/intents/:id/assignees/:agent",
      ...publish,
      handler: async (request, reply) => {
        const { org } = principalOf(request);
        const id = intentIdParam(request);
        const agent = parseWith(
          nameSchema,
          (request.params as { agent?: unknown }).agent,
          "params.agent",
        );
        const options = {
          actor: actorOf(request),
          ifMatch: parseIfMatch(request.headers["if-match"]),
        };
        const result = on
          ? await ctx.store.assign(org, id, agent, options)
          : await ctx.store.unassign(org, id, agent, options);
        return sendIntent(reply, finishWrite(ctx, org, result).intent);
      },
    });
  }

  app.post("/v1/intents/:id/events", publish, async (request, reply) => {
    const { org } = principalOf(request);
    const id = intentIdParam(request);
    const event = intentLogEvent(id, requireObjectBody(request.body));
    const { events } = finishWrite(ctx, org, await ctx.store.appendIntentEvent(org, id, event));
    const stored = events[0];
    // A retried post (same id) stores nothing: answer like a duplicate publish, not an error.
    if (!stored) return reply.code(200).send({ id: event.id, duplicate: true });
    ctx.metrics.eventsIngested.inc({ source: "http" });
    return reply.code(201).send(stored);
  });

  app.get("/v1/intents/:id/events", read, async (request, reply) => {
    const { org } = principalOf(request);
    const id = intentIdParam(request);
    const { after, limit, type } = parseWith(intentLogQuerySchema, request.query, "query");
    if (!(await ctx.store.getIntent(org, id))) throw notFound("intent");
    const filter = type === undefined ? { intentId: id } : { intentId: id, type };
    const page = await ctx.store.listEventsJson(org, filter, {
      after,
      limit: limit ?? DEFAULT_PAGE_LIMIT,
      maxBytes: MAX_PAGE_BYTES,
    });
    return sendEventPage(ctx, reply, page, after);
  });
}

/**
 * Build the stored event for a comment or custom intent event. It is validated by the same
 * `normalizeEvents` as any published event, so the log holds nothing a publish would refuse.
 */
function intentLogEvent(intentId: string, body: Record<string, unknown>) {
  const input = parseWith(intentEventInputSchema, body, "body");
  const type = input.type ?? IntentEventTypes.Comment;
  if (type === IntentEventTypes.Comment && input.text === undefined) {
    throw new HttpError("validation_failed", "a comment needs text", {
      issues: [{ path: "body.text", message: "required for intent.comment" }],
    });
  }
  if (!type.startsWith("intent.") || RESERVED_INTENT_EVENT_TYPES.has(type)) {
    throw new HttpError(
      "validation_failed",
      `type must be intent.comment or a custom intent.* type`,
      {
        issues: [{ path: "body.type", message: "reserved or outside intent.*" }],
      },
    );
  }
  const payload =
    input.text === undefined ? { ...input.payload } : { ...input.payload, text: input.text };
  const normalized = normalizeEvents([
    {
      id: input.id,
      channel: INTENT_CHANNEL,
      type,
      agent: input.agent,
      intentId,
      payload,
      metadata: input.metadata,
    },
  ]);
  if (!normalized.ok) {
    const [problem] = normalized.problems;
    throw new HttpError(problem?.code ?? "validation_failed", problem?.message ?? "invalid event", {
      issues: problem?.issues ?? [],
    });
  }
  const [event] = normalized.events;
  if (!event) throw new HttpError("validation_failed", "invalid event");
  return event;
}
