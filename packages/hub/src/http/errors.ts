import { ERROR_STATUS, type ErrorCode, ErrorCodes, errorEnvelope } from "@chorus/protocol";
import type { FastifyReply, FastifyRequest } from "fastify";

/**
 * A refusal the client caused or must act on. Routes throw it; the error handler turns it into
 * the protocol's envelope with the status {@link ERROR_STATUS} assigns to its code, so the
 * status and the code can never disagree.
 */
export class HttpError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = "HttpError";
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

/** Write the envelope. Every error response of the hub goes through here. */
export function sendError(
  request: FastifyRequest,
  reply: FastifyReply,
  error: HttpError,
): FastifyReply {
  const retryAfterMs = (error.details as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
  if (typeof retryAfterMs === "number" && !reply.hasHeader("retry-after"))
    reply.header("retry-after", String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
  return reply
    .code(error.status)
    .type("application/json; charset=utf-8")
    .send(
      errorEnvelope(error.code, error.message, { details: error.details, requestId: request.id }),
    );
}

/** Fastify's own error codes that a client can provoke, and what they mean on the wire. */
const FRAMEWORK_ERRORS: Record<string, [ErrorCode, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [ErrorCodes.PayloadTooLarge, "request body is too large"],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [
    ErrorCodes.UnsupportedMediaType,
    "unsupported content-type; send application/json",
  ],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [
    ErrorCodes.ValidationFailed,
    "content-length does not match the body",
  ],
  FST_ERR_CTP_EMPTY_JSON_BODY: [ErrorCodes.ValidationFailed, "request body is empty"],
  FST_ERR_CTP_INVALID_JSON_BODY: [ErrorCodes.InvalidJson, "request body is not valid JSON"],
  FST_ERR_BAD_URL: [ErrorCodes.ValidationFailed, "malformed URL"],
  FST_ERR_MAX_PARAM_LENGTH: [ErrorCodes.ValidationFailed, "path parameter is too long"],
  FST_ERR_VALIDATION: [ErrorCodes.ValidationFailed, "request is invalid"],
};

/** Status codes fastify or Node attach to client-caused errors we have no specific mapping for. */
const STATUS_CODES: Record<number, ErrorCode> = {
  400: ErrorCodes.ValidationFailed,
  401: ErrorCodes.Unauthorized,
  403: ErrorCodes.Forbidden,
  404: ErrorCodes.NotFound,
  409: ErrorCodes.Conflict,
  413: ErrorCodes.PayloadTooLarge,
  415: ErrorCodes.UnsupportedMediaType,
  422: ErrorCodes.InvalidTransition,
  429: ErrorCodes.RateLimited,
  503: ErrorCodes.Unavailable,
};

/**
 * Classify anything thrown during a request. Returns undefined for a genuine server fault,
 * which the caller logs and answers with 500; everything a client can cause maps to a 4xx.
 */
export function toHttpError(error: unknown): HttpError | undefined {
  if (error instanceof HttpError) return error;
  if (typeof error !== "object" || error === null) return undefined;
  if (isStorageUnavailable(error)) {
    return new HttpError(ErrorCodes.Unavailable, "storage is unavailable; retry shortly", {
      retryAfterMs: STORAGE_RETRY_AFTER_MS,
    });
  }
  const { code, statusCode } = error as { code?: unknown; statusCode?: unknown };
  // Postgres `text` cannot hold U+0000, which JSON allows in a title or description.
  if (code === "22021" || code === "22P05") {
    return new HttpError(
      ErrorCodes.ValidationFailed,
      "text fields cannot contain the NUL character (\\u0000)",
    );
  }
  if (typeof code === "string") {
    const known = FRAMEWORK_ERRORS[code];
    if (known) return new HttpError(known[0], known[1]);
  }
  if (typeof statusCode === "number" && statusCode >= 400 && statusCode < 500) {
    const mapped = STATUS_CODES[statusCode] ?? ErrorCodes.ValidationFailed;
    return new HttpError(mapped, "request refused");
  }
  return undefined;
}

/** How long a client is asked to wait while the database is away (`Retry-After`). */
export const STORAGE_RETRY_AFTER_MS = 2_000;

/**
 * SQLite failing for its file's sake, not the request's: the disk is full, an I/O error, the file
 * became read-only or cannot be opened, or another process held the write lock past the busy
 * timeout (better-sqlite3 names extended codes, `SQLITE_IOERR_WRITE` and the like).
 */
const SQLITE_UNAVAILABLE = /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN|BUSY)(_|$)/;

/**
 * The database cannot be reached or is going away: a 503 the client retries, not a 500.
 * Postgres: connection failures (socket codes, class 08), shutdown (57P01–57P03), too many
 * connections (53300), a statement canceled by `statement_timeout` (57014), a database closed to
 * connections, and `pg`'s own pool, read (`query_timeout`) and closed-connection errors.
 * SQLite: see {@link SQLITE_UNAVAILABLE}.
 */
export function isStorageUnavailable(error: object): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === "string" && SQLITE_UNAVAILABLE.test(code)) return true;
  if (typeof code === "string") {
    if (
      ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN"].includes(code)
    )
      return true;
    // 57014: canceled, by the pool's statement_timeout (a statement stuck behind a lock).
    if (code.startsWith("08") || ["57P01", "57P02", "57P03", "53300", "57014"].includes(code))
      return true;
  }
  return (
    typeof message === "string" &&
    /timeout exceeded when trying to connect|Connection terminated|Client has encountered a connection error|not currently accepting connections|^Query read timeout$/.test(
      message,
    )
  );
}

/** Shorthands for the refusals routes raise most. */
export const notFound = (what: string): HttpError =>
  new HttpError(ErrorCodes.NotFound, `${what} not found`);
export const validationFailed = (message: string, details?: unknown): HttpError =>
  new HttpError(ErrorCodes.ValidationFailed, message, details);
