import cors from "@fastify/cors";
import { AGENT_HEADER, IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER } from "@chorus/protocol";
import type { FastifyInstance } from "fastify";
import type { HubContext } from "../context.js";

/** Methods the API answers; a preflight for anything else is not granted. */
const METHODS = ["GET", "POST", "PATCH", "DELETE"];
/**
 * Request headers a page may send: its credential, a body, a resume point, a version, an actor,
 * a write's key.
 */
const ALLOWED_HEADERS = [
  "authorization",
  "content-type",
  "last-event-id",
  "if-match",
  AGENT_HEADER,
  IDEMPOTENCY_KEY_HEADER,
];
/**
 * Response headers a page may read: when to retry, an intent's version, where it was created, the
 * request id, the hub's clock (the client reads realtime credentials' lifetime on it), and
 * whether a write was a replay.
 */
const EXPOSED_HEADERS = [
  "retry-after",
  "etag",
  "location",
  "x-request-id",
  "date",
  IDEMPOTENT_REPLAYED_HEADER,
];
/** How long a browser may cache a preflight: ten minutes saves a round trip per request. */
const PREFLIGHT_MAX_AGE_S = 600;

/**
 * CORS for the origins in `CHORUS_CORS_ORIGINS` (none by default: the console is same-origin).
 * A listed origin gets the headers on preflights and actual requests, errors included; any other
 * origin gets none (its preflight is the JSON 404 of an unknown route), so its browser refuses
 * to hand the answer to the page. No cookies are involved (credentials are bearer tokens), so
 * `Access-Control-Allow-Credentials` is never sent.
 */
export async function installCors(app: FastifyInstance, ctx: HubContext): Promise<void> {
  const allowed = new Set(ctx.config.corsOrigins);
  if (allowed.size === 0) return;
  await app.register(cors, {
    origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
    methods: METHODS,
    allowedHeaders: ALLOWED_HEADERS,
    exposedHeaders: EXPOSED_HEADERS,
    maxAge: PREFLIGHT_MAX_AGE_S,
    credentials: false,
    // Strict mode answers a malformed preflight in text/plain; the route table answers it instead.
    strictPreflight: false,
  });
}
