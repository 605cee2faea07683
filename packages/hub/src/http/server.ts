import { randomUUID } from "node:crypto";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { ErrorCodes, errorEnvelope, MAX_BODY_BYTES, SSE_PING_INTERVAL_MS } from "@chorus/protocol";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  LogController,
} from "fastify";
import type { HubContext } from "../context.js";
import { pinoOf } from "../logger.js";
import {
  ANSWER_DEADLINE_MS,
  installAnswerBounds,
  MAX_UNREAD_ANSWER_BYTES_PER_KEY,
} from "./answer-deadline.js";
import { installAuth } from "./auth-hook.js";
import { installJsonParser } from "./body.js";
import { trackConnections } from "./connections.js";
import { installConsole } from "./console.js";
import { installCors } from "./cors.js";
import { clientErrorHandler, REQUEST_TIMEOUT_MS } from "./client-errors.js";
import { HttpError, sendError, toHttpError } from "./errors.js";
import { answerRaw } from "./raw-answer.js";
import { installRequestMetrics, routeLabel } from "./observe.js";
import { installRateLimit } from "./rate-limit.js";
import { registerAgentRoutes } from "./routes/agents.js";
import { registerEventRoutes } from "./routes/events.js";
import { registerIntentRoutes } from "./routes/intents.js";
import { registerMqttHookRoutes } from "./routes/mqtt-hooks.js";
import { registerOpsRoutes } from "./routes/ops.js";
import { registerRealtimeRoutes } from "./routes/realtime.js";
import { registerStreamRoutes } from "./routes/streams.js";
import { registerTraceRoutes } from "./routes/traces.js";
import { registerTokenRoutes } from "./routes/tokens.js";

/**
 * Longest path parameter, in URL-encoded characters: names may be 200 characters and
 * percent-encoding can triple them. Fastify's default of 100 would turn long names into 404s.
 */
const MAX_PARAM_LENGTH = 1024;

/** Knobs for tests; not part of the hub's options. */
export interface HttpServerInternals {
  /** Interval of `: ping` comments on SSE streams (default {@link SSE_PING_INTERVAL_MS}). */
  ssePingIntervalMs?: number;
  /** See {@link REQUEST_TIMEOUT_MS}. */
  requestTimeoutMs?: number;
  /** See {@link ANSWER_DEADLINE_MS}. */
  answerDeadlineMs?: number;
  /** See {@link MAX_UNREAD_ANSWER_BYTES_PER_KEY}. */
  maxUnreadAnswerBytesPerKey?: number;
}

/**
 * The hub's HTTP API and SSE endpoints on a fastify instance, ready to `listen`.
 *
 * Fastify logs through the hub's own pino (see `logger.ts`), whose serializers and redaction
 * keep the Authorization header and `access_token` query values out of every line; its
 * per-request lines only at `debug`. A caller's own logger (or `logger: false`) leaves fastify
 * silent. `/mqtt` is left alone: the broker attaches its WebSocket upgrade handler to
 * `app.server`.
 */
export async function buildHttpServer(
  ctx: HubContext,
  internals: HttpServerInternals = {},
): Promise<FastifyInstance> {
  const pino = pinoOf(ctx.logger);
  const requestTimeout = internals.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const app = Fastify({
    ...(pino === undefined
      ? { logger: false }
      : {
          loggerInstance: pino as FastifyBaseLogger,
          logController: new LogController({
            disableRequestLogging: !pino.isLevelEnabled("debug"),
          }),
        }),
    bodyLimit: MAX_BODY_BYTES,
    // Given to the server's constructor too: Node checks requests against the timeout only when
    // it is set there (fastify sets it afterwards). Checked every sixth of it (Node's default,
    // 30 s, would double the bound).
    requestTimeout,
    http: {
      // Node's own refusal of an HTTP/1.1 request without Host is an empty 400; the onRequest
      // hook below refuses it in the protocol's envelope instead.
      requireHostHeader: false,
      requestTimeout,
      connectionsCheckingInterval: Math.max(100, Math.floor(requestTimeout / 6)),
    },
    clientErrorHandler: clientErrorHandler(requestTimeout),
    genReqId: () => randomUUID(),
    // request.ip (the failed-auth throttle's key) follows X-Forwarded-For only through the
    // proxies the operator named; by default it is the socket's address. The same predicate
    // gives a WebSocket upgrade's address (client-address.ts).
    trustProxy: ctx.trustProxy,
    // Our onRequest hook answers 503 with the protocol envelope once shutdown begins.
    return503OnClosing: false,
    exposeHeadRoutes: false,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH, ignoreTrailingSlash: true },
    frameworkErrors: (error, request, reply) => {
      sendError(
        request,
        reply,
        toHttpError(error) ?? new HttpError("validation_failed", "malformed request"),
      );
    },
  });

  // First, so a listed origin's preflight is answered before auth, and every answer to it
  // (errors included) carries the CORS headers its page needs to read it.
  await installCors(app, ctx);
  app.addHook("onRequest", async (request, reply) => {
    reply.header("x-request-id", request.id);
    if (ctx.closing.aborted) throw new HttpError("unavailable", "the hub is shutting down");
    const { httpVersionMajor, httpVersionMinor } = request.raw;
    if (httpVersionMajor === 1 && httpVersionMinor >= 1 && request.headers.host === undefined)
      throw new HttpError("validation_failed", "an HTTP/1.1 request needs a Host header");
  });
  // Node answers an Expect it does not know (anything but 100-continue) with an empty 417.
  app.server.on("checkExpectation", (request: IncomingMessage, response: ServerResponse) => {
    const body = JSON.stringify(
      errorEnvelope("validation_failed", `Expect: ${request.headers.expect} is not supported`),
    );
    response.writeHead(417, {
      "content-type": "application/json; charset=utf-8",
      "content-length": Buffer.byteLength(body),
      connection: "close",
    });
    response.end(body);
  });
  // By default Node keeps about the first thousand header lines (`maxHeadersCount`) and drops
  // the rest unseen, so an If-Match or a second Authorization past them would not count. No count limit: the header size limit
  // (431 past it) bounds how many lines fit.
  app.server.maxHeadersCount = 0;
  const connections = trackConnections(app.server);
  refuseConnect(app.server);
  // preClose runs just before fastify calls server.close(); draining on the next turn means no
  // new socket can arrive after it.
  app.addHook("preClose", async () => {
    setImmediate(() => connections.drain());
  });
  installAuth(app, ctx);
  await installRateLimit(app, ctx);
  installRequestMetrics(app, ctx);
  installAnswerBounds(app, ctx, {
    deadlineMs: internals.answerDeadlineMs,
    maxUnreadBytesPerKey: internals.maxUnreadAnswerBytesPerKey,
  });
  installJsonParser(app);

  app.setErrorHandler((error: FastifyError, request, reply) => {
    // The client dropped the connection (or stalled past the request timeout) while sending its
    // body: Node fails the body stream with ECONNRESET, which must not read as the database's.
    if (isBodyAborted(error))
      return sendError(
        request,
        reply,
        new HttpError("validation_failed", "the request body was cut short: the client went away"),
      );
    const known = toHttpError(error);
    if (known) {
      if (known.code === ErrorCodes.Unavailable && !(error instanceof HttpError))
        ctx.storageTrouble.report(error, routeLabel(request));
      return sendError(request, reply, known);
    }
    ctx.logger.error("request failed", {
      requestId: request.id,
      method: request.method,
      route: routeLabel(request),
      keyId: request.principal?.keyId,
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
    return sendError(request, reply, new HttpError("internal", "internal error"));
  });
  app.setNotFoundHandler((request, reply) => {
    sendError(
      request,
      reply,
      new HttpError("not_found", `no route for ${request.method} ${request.url.split("?")[0]}`),
    );
  });

  registerOpsRoutes(app, ctx);
  registerEventRoutes(app, ctx);
  registerTraceRoutes(app, ctx);
  registerIntentRoutes(app, ctx);
  registerStreamRoutes(app, ctx, {
    pingIntervalMs: internals.ssePingIntervalMs ?? SSE_PING_INTERVAL_MS,
  });
  registerRealtimeRoutes(app, ctx);
  registerMqttHookRoutes(app, ctx);
  registerTokenRoutes(app, ctx);
  registerAgentRoutes(app, ctx, {
    pingIntervalMs: internals.ssePingIntervalMs ?? SSE_PING_INTERVAL_MS,
  });
  await installConsole(app, ctx);

  await app.ready();
  return app;
}

/**
 * Whether `error` is the request's own body stream failing because the client went away: Node
 * destroys an `IncomingMessage` whose connection closed (or timed out) mid-body with an
 * `ECONNRESET` error whose message is exactly "aborted". A database socket's reset reads
 * "read ECONNRESET" or names the connection, and stays the store's trouble.
 */
function isBodyAborted(error: unknown): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown };
  return code === "ECONNRESET" && message === "aborted";
}

/**
 * Answer `CONNECT` (a proxy tunnel request) with a JSON 400. Node hands CONNECT to the server's
 * `connect` event instead of fastify, and with no listener it drops the socket unanswered.
 * The hub is no proxy, so the answer is written straight to the socket, which then closes.
 */
function refuseConnect(server: Server): void {
  server.on("connect", (request, socket) => {
    answerRaw(
      socket,
      "400 Bad Request",
      "validation_failed",
      `CONNECT ${request.url ?? ""} is not supported: the hub is not a proxy`,
    );
  });
}
