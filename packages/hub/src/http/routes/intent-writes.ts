import {
  AGENT_HEADER,
  type ChorusEvent,
  IDEMPOTENCY_KEY_HEADER,
  IDEMPOTENT_REPLAYED_HEADER,
  type Intent,
  isId,
  nameSchema,
} from "@chorus/protocol";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { HubContext } from "../../context.js";
import { lastSeq } from "../../delivery/commit-signal.js";
import type { IntentWrite } from "../../store/types.js";
import { HttpError, notFound } from "../errors.js";
import { headerText, refuseRepeatedHeader } from "../header-text.js";
import { parseWith } from "../validate.js";

/** Store results that are not a successful write. */
type WriteRefusal =
  | { error: "not_found" }
  | { error: "exists" }
  | { error: "conflict"; currentVersion: number }
  | { error: "invalid_transition"; from: string; to: string }
  | { error: "state_too_large"; bytes: number; limit: number }
  | { error: "key_reused" };

/**
 * Turn a store write into an HTTP answer: signal the commit of its log events (so SSE and
 * MQTT see every intent change, exactly as stored), or map the refusal to its error code.
 */
export function finishWrite(
  ctx: HubContext,
  _org: string,
  result: IntentWrite | WriteRefusal,
): { intent: Intent; events: ChorusEvent[]; replayed?: true } {
  if ("error" in result) throw refusalError(result);
  const seq = lastSeq(result.events);
  if (seq !== undefined) ctx.commits.committed(seq);
  return result;
}

function refusalError(refusal: WriteRefusal): HttpError {
  switch (refusal.error) {
    case "not_found":
      return notFound("intent");
    case "exists":
      return new HttpError("conflict", "an intent with this id already exists");
    case "conflict":
      return new HttpError(
        "conflict",
        `version mismatch: the intent is at version ${refusal.currentVersion}`,
        {
          currentVersion: refusal.currentVersion,
        },
      );
    case "invalid_transition":
      return new HttpError(
        "invalid_transition",
        `cannot change status from ${refusal.from} to ${refusal.to}`,
        {
          from: refusal.from,
          to: refusal.to,
        },
      );
    case "key_reused":
      return new HttpError(
        "validation_failed",
        "this Idempotency-Key names another write (another intent, kind of write, or a different patch, status or create): make a new key for every write, and send the same one again only with the same request when retrying it",
        { issues: [{ path: "headers.idempotency-key", message: "used by another write" }] },
      );
    case "state_too_large":
      return new HttpError(
        "payload_too_large",
        `the intent's log event would be ${refusal.bytes} bytes with this state; the limit is ${refusal.limit}`,
        { bytes: refusal.bytes, limit: refusal.limit },
      );
  }
}

/**
 * Send an intent with its version as a strong ETag, so a client can echo it in `If-Match`. A
 * replayed write (see {@link idempotencyKeyOf}) says so in `Idempotent-Replayed: true`.
 */
export function sendIntent(
  reply: FastifyReply,
  intent: Intent,
  status = 200,
  replayed?: boolean,
): FastifyReply {
  if (replayed) reply.header(IDEMPOTENT_REPLAYED_HEADER, "true");
  return reply.code(status).header("etag", `"${intent.version}"`).send(intent);
}

/**
 * The write's `Idempotency-Key`, when sent: the id its log event gets, so that the same write
 * sent again (a client retrying a request whose answer it lost) is answered with the intent as
 * it is now instead of being applied twice or refused by its own `If-Match`. Its syntax is an
 * event id's; repeated or malformed, a 400 (a garbled key would make a retried write a new one).
 */
export function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const value = request.headers[IDEMPOTENCY_KEY_HEADER];
  if (value === undefined) return undefined;
  refuseRepeatedHeader(request.raw.rawHeaders, "Idempotency-Key");
  const key = Array.isArray(value) ? value.join(",") : value;
  if (!isId(key)) {
    throw new HttpError(
      "validation_failed",
      "Idempotency-Key must be an id like an event's: up to 128 letters, digits, '-', '_', '.', ':' (a UUID is one)",
      { issues: [{ path: "headers.idempotency-key", message: "not an id" }] },
    );
  }
  return key;
}

/**
 * `If-Match: 7`, `"7"` or `W/"7"` → 7. Absent or `*` means unconditional. Anything else is a
 * 400: silently ignoring a garbled precondition would turn a conditional write into a blind one.
 */
export function parseIfMatch(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const value = (Array.isArray(header) ? header.join(",") : header).trim();
  if (value === "*") return undefined;
  const match = /^(?:W\/)?"?(\d{1,15})"?$/.exec(value);
  if (!match?.[1]) {
    throw new HttpError(
      "validation_failed",
      "If-Match must be an intent version, e.g. If-Match: 7",
      {
        issues: [{ path: "headers.if-match", message: "expected a version number" }],
      },
    );
  }
  return Number(match[1]);
}

/**
 * The agent making an intent write, from the `Chorus-Agent` header (UTF-8, see
 * {@link headerText}): it becomes the `agent` of the log event the write produces, so handlers
 * can tell who changed what.
 */
export function actorOf(request: FastifyRequest): string | undefined {
  const value = request.headers[AGENT_HEADER];
  if (value === undefined) return undefined;
  refuseRepeatedHeader(request.raw.rawHeaders, "Chorus-Agent");
  return parseWith(
    nameSchema,
    headerText(Array.isArray(value) ? value.join(",") : value),
    `headers.${AGENT_HEADER}`,
  );
}
