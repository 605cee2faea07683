import { AGENT_HEADER, type ChorusEvent, type Intent, nameSchema } from "@chorus/protocol";
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
  | { error: "state_too_large"; bytes: number; limit: number };

/**
 * Turn a store write into an HTTP answer: signal the commit of its log events (so SSE and
 * MQTT see every intent change, exactly as stored), or map the refusal to its error code.
 */
export function finishWrite(
  ctx: HubContext,
  _org: string,
  result: IntentWrite | WriteRefusal,
): { intent: Intent; events: ChorusEvent[] } {
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
    case "state_too_large":
      return new HttpError(
        "payload_too_large",
        `the intent's log event would be ${refusal.bytes} bytes with this state; the limit is ${refusal.limit}`,
        { bytes: refusal.bytes, limit: refusal.limit },
      );
  }
}

/**
 * Send an intent with its version as a strong ETag, so a client can echo it in `If-Match`.
 */
export function sendIntent(reply: FastifyReply, intent: Intent, status = 200): FastifyReply {
  return reply.code(status).header("etag", `"${intent.version}"`).send(intent);
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
