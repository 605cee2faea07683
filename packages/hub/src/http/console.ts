import { existsSync } from "node:fs";
import { join } from "node:path";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";
import type { HubContext } from "../context.js";

/** The console's own origin for everything; `data:` images for its inline favicon. */
const CONSOLE_CSP = [
  "default-src 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/**
 * Serve the web console's static files at `/`, same origin as the API, so the page needs no
 * CORS. `wildcard: false` registers one route per file found at start instead of a catch-all
 * `GET /*`: every other path, `/v1/...` included, still reaches the hub's JSON 404. A hub
 * started without a built console serves nothing here and works as before.
 */
export async function installConsole(app: FastifyInstance, ctx: HubContext): Promise<void> {
  const dir = ctx.config.consoleDir;
  if (dir === undefined) return;
  if (!existsSync(join(dir, "index.html"))) {
    ctx.logger.warn("console not served: no index.html in the console folder", { dir });
    return;
  }
  await app.register(fastifyStatic, {
    root: dir,
    prefix: "/",
    wildcard: false,
    // File names carry no hash, so the browser must revalidate; ETags keep that cheap.
    cacheControl: true,
    maxAge: 0,
    setHeaders(res) {
      res.header("x-content-type-options", "nosniff");
      // The page holds a key: nothing but its own files may run or be fetched, and no other
      // site may frame it (clickjacking). Styles set from script (CSSOM) are not inline styles.
      res.header("content-security-policy", CONSOLE_CSP);
      res.header("x-frame-options", "DENY");
      // The page's address may carry `#key=…` for an instant; no referrer ever leaves the page.
      res.header("referrer-policy", "no-referrer");
    },
  });
}
