import type { FastifyInstance } from "fastify";
import type { HubContext } from "../context.js";
import { routeLabel } from "./observe.js";

/**
 * How long a client may take to read an answer (not an SSE stream) once it is sent: a 4 MiB page
 * of events at 35 KB/s. Node keeps whatever the socket has not taken in memory, so a client that
 * asks for pages and never reads them would otherwise hold several megabytes each, forever
 * (`requestTimeout` bounds receiving the request, not sending the answer).
 */
export const ANSWER_DEADLINE_MS = 120_000;

/** Close the connection of a client that has not taken its whole answer within the deadline. */
export function installAnswerDeadline(
  app: FastifyInstance,
  ctx: HubContext,
  deadlineMs: number = ANSWER_DEADLINE_MS,
): void {
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
    const done = () => clearTimeout(timer);
    response.once("finish", done);
    response.once("close", done);
    return payload;
  });
}
