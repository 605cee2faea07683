import type { ErrorCode } from "@chorus/protocol";
import { ErrorCodes, isErrorEnvelope } from "@chorus/protocol/wire";

/**
 * The client's typed error tree. Every error carries the same `code` the hub puts in its JSON
 * error envelope, so `err.code === "not_found"` means the same thing on both sides.
 *
 * Caller errors (`ValidationError`, `AuthenticationError`, `PermissionError`, `NotFoundError`,
 * `ConflictError`, `InvalidTransitionError`, `PayloadTooLargeError`) need a fix, not a retry.
 * Availability errors (`ConnectionError`, `RateLimitError`, 5xx) are what fail-open swallows.
 */
export class ChorusError extends Error {
  readonly code: ErrorCode;
  /** HTTP status of the hub's answer, when there was one. */
  readonly status: number | undefined;
  /** The hub's `requestId`, for matching a failure with hub logs. */
  readonly requestId: string | undefined;
  /** The hub's `details` (validation issues, per-event problems, ...). */
  readonly details: unknown;

  constructor(
    message: string,
    init: {
      code: ErrorCode;
      status?: number;
      requestId?: string;
      details?: unknown;
      cause?: unknown;
    },
  ) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.code = init.code;
    this.status = init.status;
    this.requestId = init.requestId;
    this.details = init.details;
  }
}

type ErrorInit = Omit<ConstructorParameters<typeof ChorusError>[1], "code"> & { code?: ErrorCode };

/** Invalid arguments or a 400. `field` names the offending field (`"channel"`, `"payload.x"`). */
export class ValidationError extends ChorusError {
  readonly field: string | undefined;
  constructor(message: string, init: ErrorInit & { field?: string } = {}) {
    super(message, { code: ErrorCodes.ValidationFailed, ...init });
    this.field = init.field;
  }
}

/** 401: the API key is missing, unknown or revoked. */
export class AuthenticationError extends ChorusError {
  constructor(message: string, init: ErrorInit = {}) {
    super(message, { code: ErrorCodes.Unauthorized, ...init });
  }
}

/** 403: the key is valid but lacks the scope for this call. */
export class PermissionError extends ChorusError {
  constructor(message: string, init: ErrorInit = {}) {
    super(message, { code: ErrorCodes.Forbidden, ...init });
  }
}

export class NotFoundError extends ChorusError {
  constructor(message: string, init: ErrorInit = {}) {
    super(message, { code: ErrorCodes.NotFound, ...init });
  }
}

/** 409: an `If-Match` version did not match. `currentVersion` is the intent's version now. */
export class ConflictError extends ChorusError {
  readonly currentVersion: number | undefined;
  constructor(message: string, init: ErrorInit & { currentVersion?: number } = {}) {
    super(message, { code: ErrorCodes.Conflict, ...init });
    this.currentVersion = init.currentVersion;
  }
}

/** 422: an intent status change the state machine does not allow. */
export class InvalidTransitionError extends ChorusError {
  constructor(message: string, init: ErrorInit = {}) {
    super(message, { code: ErrorCodes.InvalidTransition, ...init });
  }
}

/** 413, or an event larger than the protocol's per-event limit. */
export class PayloadTooLargeError extends ChorusError {
  constructor(message: string, init: ErrorInit = {}) {
    super(message, { code: ErrorCodes.PayloadTooLarge, ...init });
  }
}

/** 429. `retryAfterMs` is the hub's `Retry-After`, when it sent one. */
export class RateLimitError extends ChorusError {
  readonly retryAfterMs: number | undefined;
  constructor(message: string, init: ErrorInit & { retryAfterMs?: number } = {}) {
    super(message, { code: ErrorCodes.RateLimited, ...init });
    this.retryAfterMs = init.retryAfterMs;
  }
}

/** Why a {@link ConnectionError} happened. */
export type ConnectionFailure =
  /** The request never reached the hub (refused, DNS, reset before sending). Always safe to retry. */
  | "refused"
  /** The connection broke after the request may have been sent. */
  | "network"
  | "timeout"
  /** The hub answered 5xx, 408 or (after retries) 429. */
  | "unavailable"
  /** The circuit breaker is open: no request was made. */
  | "circuit_open"
  /** The broker refused the credentials (realtime). */
  | "auth_failed"
  | "closed";

/** The hub could not be reached or is not serving. With `failOpen: false`, every availability failure. */
export class ConnectionError extends ChorusError {
  readonly reason: ConnectionFailure;
  /** `Retry-After` of the last answer, when there was one. */
  readonly retryAfterMs: number | undefined;
  constructor(
    message: string,
    init: ErrorInit & { reason: ConnectionFailure; retryAfterMs?: number },
  ) {
    super(message, { code: ErrorCodes.Unavailable, ...init });
    this.reason = init.reason;
    this.retryAfterMs = init.retryAfterMs;
  }
}

/**
 * The typed error for a hub answer whose status is not 2xx. `body` is the parsed JSON (or text);
 * the error envelope's code decides the class when present, the status otherwise.
 */
export function errorFromResponse(
  status: number,
  body: unknown,
  retryAfterMs: number | undefined,
): ChorusError {
  const envelope = isErrorEnvelope(body) ? body.error : undefined;
  const message = envelope?.message ?? `hub answered ${status}`;
  const init = { status, requestId: envelope?.requestId, details: envelope?.details };
  const code = envelope?.code;
  if (status === 401 || code === ErrorCodes.Unauthorized)
    return new AuthenticationError(message, init);
  if (status === 403 || code === ErrorCodes.Forbidden) return new PermissionError(message, init);
  if (status === 404 || code === ErrorCodes.NotFound) return new NotFoundError(message, init);
  if (status === 409 || code === ErrorCodes.Conflict) {
    return new ConflictError(message, {
      ...init,
      currentVersion: currentVersionOf(body, envelope?.details),
    });
  }
  if (status === 422 || code === ErrorCodes.InvalidTransition)
    return new InvalidTransitionError(message, init);
  if (status === 413 || code === ErrorCodes.PayloadTooLarge)
    return new PayloadTooLargeError(message, init);
  if (status === 429 || code === ErrorCodes.RateLimited) {
    return new RateLimitError(message, { ...init, retryAfterMs });
  }
  // 400, 415, and any other answer that is not 2xx, 408 or 5xx (an unfollowed redirect, 405,
  // 410, ...): the URL or the request needs a fix, so it is not retried. Its code is
  // `validation_failed` whatever the body says: a code this client does not know (a proxy's
  // `bad_request`) would make it an outage to `classify`.
  if (code === ErrorCodes.ValidationFailed || (status < 500 && status !== 408)) {
    return new ValidationError(message, { ...init, field: fieldOf(envelope?.details) });
  }
  return new ConnectionError(message, { ...init, reason: "unavailable", retryAfterMs });
}

/** The hub puts the current version in the details of a 409; accept it at the top level too. */
function currentVersionOf(body: unknown, details: unknown): number | undefined {
  for (const source of [details, body]) {
    if (typeof source === "object" && source !== null) {
      const v = (source as { currentVersion?: unknown }).currentVersion;
      if (typeof v === "number") return v;
    }
  }
  return undefined;
}

/** First field named in validation details: `[{ path }]`, `{ issues: [{ path }] }` or `{ field }`. */
function fieldOf(details: unknown): string | undefined {
  if (typeof details !== "object" || details === null) return undefined;
  const list = Array.isArray(details) ? details : (details as { issues?: unknown }).issues;
  if (Array.isArray(list)) {
    for (const item of list) {
      const path =
        (item as { path?: unknown; field?: unknown } | null)?.path ??
        (item as { field?: unknown } | null)?.field;
      if (typeof path === "string" && path !== "") return path;
      if (Array.isArray(path) && path.length > 0) return path.join(".");
    }
  }
  const field = (details as { field?: unknown }).field;
  return typeof field === "string" ? field : undefined;
}
