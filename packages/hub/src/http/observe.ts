import type { FastifyInstance, FastifyRequest } from "fastify";
import type { HubContext } from "../context.js";

/** Label for requests no route matched: raw URLs would give the metric unbounded cardinality. */
export const UNMATCHED_ROUTE = "unmatched";

/** The route pattern (`/v1/intents/:id`), never the raw URL. */
export function routeLabel(request: FastifyRequest): string {
  return request.routeOptions.url ?? UNMATCHED_ROUTE;
}

/**
 * Count and time every request by route pattern, and log it at debug level. The log line
 * names the caller by `keyId` only; headers are never logged, so no key can reach a log.
 */
export function installRequestMetrics(app: FastifyInstance, ctx: HubContext): void {
  app.addHook("onResponse", async (request, reply) => {
    // An open SSE stream was counted when it started (see sse.ts); its end is not a new request.
    if (request.routeOptions.config.sse === true && reply.statusCode === 200) return;
    const route = routeLabel(request);
    ctx.metrics.httpRequests.inc({
      method: request.method,
      route,
      status: String(reply.statusCode),
    });
    ctx.metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    ctx.logger.debug("http request", {
      requestId: request.id,
      method: request.method,
      route,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime),
      keyId: request.principal?.keyId,
    });
  });
  // A client that hangs up before its answer (mid-body, or waiting for a slow write) gets none,
  // so onResponse never runs for it.
  app.addHook("onRequestAbort", async (request) => {
    ctx.logger.debug("http request aborted by the client", {
      requestId: request.id,
      method: request.method,
      route: routeLabel(request),
      keyId: request.principal?.keyId,
    });
  });
}
