import type { FastifyInstance } from "fastify";
import type { HubContext } from "../../context.js";
import { HttpError } from "../errors.js";

/**
 * Liveness, readiness and Prometheus metrics. None of them needs a key, as probes and
 * scrapers expect; `/metrics` reveals traffic volumes (not data), so expose the port only to
 * networks you trust, or put it behind the proxy's auth.
 */
export function registerOpsRoutes(app: FastifyInstance, ctx: HubContext): void {
  app.get("/healthz", async () => ({ status: "ok" }));

  app.get("/readyz", async () => {
    const ok = await ctx.store.ping().catch(() => false);
    if (!ok) throw new HttpError("unavailable", "storage is not ready");
    const trouble = ctx.storageTrouble.recent();
    if (trouble !== undefined)
      throw new HttpError("unavailable", `storage failed a write just now: ${trouble}`);
    return { status: "ready" };
  });

  app.get("/metrics", async (_request, reply) => {
    const text = await ctx.metrics.registry.metrics();
    return reply.type(ctx.metrics.registry.contentType).send(text);
  });
}
