import {
  AuthenticationError,
  ChorusError,
  ConflictError,
  ConnectionError,
  PermissionError,
  ValidationError,
} from "@chorus/core";
import { ExitCode, UsageError } from "./exit-codes.js";
import { type Io, visible } from "./io.js";

/**
 * The one place a failure becomes a message and an exit code:
 * hub unreachable, not serving or not a hub at all → 3, key refused (401/403) → 4, the hub refusing the request
 * (404, 409, 422, 400) → 1 with its message, a bad argument caught before sending → 2.
 * Messages never contain the API key: core's errors carry the hub's message, not our headers.
 */
export function reportFailure(
  error: unknown,
  output: Io,
  context: { command: string; url: string },
): number {
  const url = context.url.replace(/\/+$/, "");
  // Messages carry what the server said: printed as visible text, never as terminal controls.
  const io: Io = { ...output, err: (line) => output.err(visible(line)) };
  if (error instanceof UsageError) {
    io.err(`chorus ${context.command}: ${error.message}`);
    return ExitCode.Usage;
  }
  if (notAHub(error)) {
    const status = (error as ChorusError).status;
    io.err(
      `chorus: the server at ${url} is not a Chorus hub: it answered ${status} without the hub's error body (set CHORUS_URL or --url to the hub's base URL)`,
    );
    return ExitCode.Unreachable;
  }
  if (error instanceof ConnectionError) {
    io.err(`chorus: ${unreachable(error, url)}`);
    return ExitCode.Unreachable;
  }
  if (error instanceof AuthenticationError) {
    io.err(
      `chorus: the hub at ${url} refused the API key: ${error.message} (set CHORUS_API_KEY or --key)`,
    );
    return ExitCode.Unauthorized;
  }
  if (error instanceof PermissionError) {
    io.err(`chorus: the API key lacks the scope for this: ${error.message}`);
    return ExitCode.Unauthorized;
  }
  // Our own validation (no HTTP status) caught a bad argument before anything was sent.
  if (error instanceof ValidationError && error.status === undefined) {
    const field = error.field ? `${error.field}: ` : "";
    io.err(`chorus ${context.command}: ${field}${error.message}`);
    return ExitCode.Usage;
  }
  if (error instanceof ConflictError) {
    const v = error.currentVersion;
    const current =
      v === undefined || error.message.includes(`version ${v}`) ? "" : ` (current version ${v})`;
    io.err(`chorus ${context.command}: ${error.message}${current}`);
    return ExitCode.Failure;
  }
  if (error instanceof ChorusError) {
    io.err(
      `chorus ${context.command}: ${error.message}${error.status ? ` (${error.status})` : ""}`,
    );
    return ExitCode.Failure;
  }
  io.err(`chorus ${context.command}: ${error instanceof Error ? error.message : String(error)}`);
  return ExitCode.Failure;
}

/** One line that names the URL and what to do about it. */
function unreachable(error: ConnectionError, url: string): string {
  const hint = "(is `chorus hub` running? set CHORUS_URL)";
  switch (error.reason) {
    case "refused":
    case "network": {
      const code = socketCode(error);
      const why =
        code === "ECONNREFUSED"
          ? "connection refused"
          : code === "ENOTFOUND"
            ? "host not found"
            : (code ?? rootMessage(error));
      return `cannot reach the hub at ${url}: ${why} ${hint}`;
    }
    case "timeout":
      return `cannot reach the hub at ${url}: no answer in time ${hint}`;
    case "unavailable":
      return `the hub at ${url} is not serving: ${error.message}`;
    default:
      return `cannot reach the hub at ${url}: ${error.message} ${hint}`;
  }
}

/** The innermost cause says what happened ("bad port"); the outer ones only say "fetch failed". */
function rootMessage(error: Error): string {
  let current: unknown = error;
  let message = error.message;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    message = current.message;
    current = current.cause;
  }
  return message;
}

/** `fetch` buries the socket error code in `cause` (or in `errors` of an AggregateError). */
function socketCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === "object" && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && /^E[A-Z]+$/.test(code)) return code;
    const errors = (current as { errors?: unknown }).errors;
    current =
      Array.isArray(errors) && errors.length > 0
        ? errors[0]
        : (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * An HTTP error without the hub's error envelope: every hub error carries a `requestId`, so
 * this answer came from some other server (a web server, another app on the port). A 401/403
 * stays a key problem (a proxy in front of the hub may guard it) and a 5xx is already "not
 * serving".
 */
function notAHub(error: unknown): boolean {
  if (!(error instanceof ChorusError) || error.status === undefined) return false;
  const { status } = error;
  return (
    error.requestId === undefined &&
    status >= 400 &&
    status < 500 &&
    status !== 401 &&
    status !== 403
  );
}
