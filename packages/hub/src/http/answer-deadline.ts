import type { FastifyInstance } from "fastify";
import type { HubContext } from "../context.js";
import { HttpError } from "./errors.js";
import { routeLabel } from "./observe.js";

/**
 * How long a client may take to read an answer (not an SSE stream) once it is sent: a 4 MiB page
 * of events at 35 KB/s. Node keeps whatever the socket has not taken in memory, so a client that
 * asks for pages and never reads them would otherwise hold several megabytes each, forever
 * (`requestTimeout` bounds receiving the request, not sending the answer).
 */
export const ANSWER_DEADLINE_MS = 120_000;
/**
 * Bytes of answers a key's clients have been sent and not yet read, past which the key's next
 * reads (GET) get 429 until some are read or cut at the deadline: a few pages. Without it one
 * key could pin ~9 MB of the hub's memory per connection it opens and never reads, for the
 * deadline. Writes go on: their answers are small, and a publisher must not lose events to a
 * slow reader of the same key.
 */
export const MAX_UNREAD_ANSWER_BYTES_PER_KEY = 32 * 1024 * 1024;
/** Answers smaller than this are not counted: the socket takes them at once. */
const COUNTED_ANSWER_BYTES = 64 * 1024;
/** What a client held back by unread answers is told to wait. */
const UNREAD_RETRY_AFTER_MS = 1_000;

export interface AnswerBounds {
  deadlineMs?: number;
  maxUnreadBytesPerKey?: number;
}

/**
 * Close the connection of a client that has not taken its whole answer within the deadline, and
 * hold a key's reads back (429) while its clients have more than a few pages unread.
 */
export function installAnswerBounds(
  app: FastifyInstance,
  ctx: HubContext,
  bounds: AnswerBounds = {},
): void {
  const deadlineMs = bounds.deadlineMs ?? ANSWER_DEADLINE_MS;
  const maxUnread = bounds.maxUnreadBytesPerKey ?? MAX_UNREAD_ANSWER_BYTES_PER_KEY;
  /** Unread bytes per key id; a key with none is absent. */
  const unread = new Map<string, number>();

  // After the auth hook (installed before this), which names the key.
  app.addHook("onRequest", async (request) => {
    const keyId = request.principal?.keyId;
    if (keyId === undefined || request.method !== "GET") return;
    const bytes = unread.get(keyId) ?? 0;
    if (bytes > maxUnread)
      throw new HttpError(
        "rate_limited",
        `clients of this key have ${bytes} bytes of answers unread; read them first (or they are cut after ${Math.round(deadlineMs / 1000)} s)`,
        { retryAfterMs: UNREAD_RETRY_AFTER_MS },
      );
  });

  app.addHook("onSend", async (request, reply, payload) => {
    const response = reply.raw;
    if (response.writableFinished) return payload;
    const timer = setTimeout(() => {
      ctx.logger.debug("answer not read in time; connection closed", {
        requestId: request.id,
        route: routeLabel(request),
        keyId: request.principal?.keyId,
        unsentBytes: response.socket?.writableLength,
      });
      request.raw.socket.destroy();
    }, deadlineMs);
    timer.unref();
    const keyId = request.principal?.keyId;
    const bytes = answerLength(payload);
    const counted = keyId !== undefined && bytes >= COUNTED_ANSWER_BYTES;
    if (counted) unread.set(keyId, (unread.get(keyId) ?? 0) + bytes);
    let done = false;
    const settle = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (!counted) return;
      const left = (unread.get(keyId) ?? 0) - bytes;
      if (left > 0) unread.set(keyId, left);
      else unread.delete(keyId);
    };
    response.once("finish", settle);
    response.once("close", settle);
    return payload;
  });
}

/** An answer's size in bytes, near enough (JSON is mostly ASCII); 0 for a stream. */
function answerLength(payload: unknown): number {
  if (typeof payload === "string") return payload.length;
  if (payload instanceof Uint8Array) return payload.byteLength;
  return 0;
}
