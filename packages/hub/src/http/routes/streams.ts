import {
  idSchema,
  intentStreamQuerySchema,
  nameSchema,
  parseLastEventId,
  streamQuerySchema,
} from "@chorus/protocol";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { HubContext } from "../../context.js";
import type { EventFilter } from "../../store/types.js";
import { allowChannel, principalOf } from "../auth-hook.js";
import { notFound } from "../errors.js";
import { streamEvents } from "../sse.js";
import { parseWith } from "../validate.js";
import { intentIdParam } from "./intents.js";

/** The intent stream is already scoped to one intent; a second `intentId` would only confuse. */

/** Settings of the stream routes that tests may shorten. */
export interface StreamRouteOptions {
  pingIntervalMs: number;
}

/** The four SSE endpoints. Each differs only in how its path narrows the store filter. */
export function registerStreamRoutes(
  app: FastifyInstance,
  ctx: HubContext,
  options: StreamRouteOptions,
): void {
  const route = { config: { scope: "subscribe" as const, sse: true } };

  // `Last-Event-ID` wins over `?after=`: a reconnecting EventSource sends the header but keeps
  // the URL it started with, whose `after` is stale by then. A malformed header is ignored.
  // A cursor beyond the newest stored seq (a store restored from a backup, a cursor from
  // elsewhere) restarts the stream from the beginning, and the ready message says so (`ahead`):
  // left as it was, the stream would skip every event the store numbers up to it, and starting
  // at the newest would lose what the store took since it came back. The store is asked only
  // when the cursor is past what this hub's tail has seen (another hub may have committed).
  const open = async (
    request: FastifyRequest,
    reply: FastifyReply,
    filter: EventFilter,
    after: number | undefined,
    snapshot?: () => Promise<unknown>,
    onOpen?: () => () => void,
  ) => {
    const principal = principalOf(request);
    let resume = parseLastEventId(headerValue(request.headers["last-event-id"])) ?? after;
    let ahead: number | undefined;
    if (resume !== undefined && resume > ctx.delivery.tail.newest) {
      const newest = await ctx.store.maxSeq();
      if (resume > newest) [ahead, resume] = [resume, 0];
    }
    return streamEvents(ctx, request, reply, {
      ...(onOpen ? { onOpen } : {}),
      ...(ahead !== undefined ? { ahead } : {}),
      org: principal.org,
      filter,
      after: resume,
      pingIntervalMs: options.pingIntervalMs,
      keyId: principal.keyId,
      snapshot,
    });
  };

  const channelRoute = { config: { ...route.config, channelChecked: true } };
  app.get("/v1/channels/:channel/stream", channelRoute, async (request, reply) => {
    const channel = parseWith(
      nameSchema,
      (request.params as { channel?: unknown }).channel,
      "params.channel",
    );
    allowChannel(principalOf(request), channel);
    const { after, ...query } = parseWith(streamQuerySchema, request.query, "query");
    await open(request, reply, { ...query, channel }, after);
  });

  app.get("/v1/intents/:id/stream", route, async (request, reply) => {
    const id = intentIdParam(request);
    const { after, ...query } = parseWith(intentStreamQuerySchema, request.query, "query");
    // 404 for an unknown intent, and for another org's: the store is scoped to the caller's org.
    const org = principalOf(request).org;
    if (!(await ctx.store.getIntent(org, id))) throw notFound("intent");
    // The stream opens with the intent as it is (`chorus.snapshot`), read after the cursor.
    const snapshot = async () => (await ctx.store.getIntent(org, id)) ?? undefined;
    await open(request, reply, { ...query, intentId: id }, after, snapshot);
  });

  app.get("/v1/agents/:agent/stream", route, async (request, reply) => {
    const agent = parseWith(
      nameSchema,
      (request.params as { agent?: unknown }).agent,
      "params.agent",
    );
    const { after, ...query } = parseWith(streamQuerySchema, request.query, "query");
    // The runner holding its agent's stream is what makes the agent online (GET /v1/agents).
    const org = principalOf(request).org;
    await open(request, reply, { ...query, assignedTo: agent }, after, undefined, () =>
      ctx.presence.open(org, agent),
    );
  });

  app.get("/v1/portfolios/:id/stream", route, async (request, reply) => {
    const portfolio = parseWith(idSchema, (request.params as { id?: unknown }).id, "params.id");
    const { after, ...query } = parseWith(streamQuerySchema, request.query, "query");
    await open(request, reply, { ...query, portfolio }, after);
  });
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
