/** Error codes shared by the hub's JSON error envelope and the client's typed errors. */
export const ErrorCodes = {
  ValidationFailed: "validation_failed",
  InvalidJson: "invalid_json",
  Unauthorized: "unauthorized",
  Forbidden: "forbidden",
  NotFound: "not_found",
  Conflict: "conflict",
  PayloadTooLarge: "payload_too_large",
  UnsupportedMediaType: "unsupported_media_type",
  InvalidTransition: "invalid_transition",
  RateLimited: "rate_limited",
  RequestTimeout: "request_timeout",
  Unavailable: "unavailable",
  Internal: "internal",
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** The HTTP status each code is sent with. */
export const ERROR_STATUS: Record<ErrorCode, number> = {
  validation_failed: 400,
  invalid_json: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  invalid_transition: 422,
  rate_limited: 429,
  request_timeout: 408,
  unavailable: 503,
  internal: 500,
};

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  details?: unknown;
  requestId?: string;
}

/** `{ "error": { code, message, details, requestId } }` */
export interface ErrorEnvelope {
  error: ErrorBody;
}

export function errorEnvelope(
  code: ErrorCode,
  message: string,
  extra: { details?: unknown; requestId?: string } = {},
): ErrorEnvelope {
  const error: ErrorBody = { code, message };
  if (extra.details !== undefined) error.details = extra.details;
  if (extra.requestId !== undefined) error.requestId = extra.requestId;
  return { error };
}

/** Narrow an unknown response body to the error envelope. */
export function isErrorEnvelope(body: unknown): body is ErrorEnvelope {
  if (typeof body !== "object" || body === null) return false;
  const error = (body as { error?: unknown }).error;
  return (
    typeof error === "object" &&
    error !== null &&
    typeof (error as { code?: unknown }).code === "string" &&
    typeof (error as { message?: unknown }).message === "string"
  );
}
