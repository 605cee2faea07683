import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import { errorEnvelope } from "@chorus/protocol";

/**
 * A request (headers and body) must have arrived within this. Without it a client that sends
 * headers and then stalls its body holds its socket for ever (fastify turns Node's own 5-minute
 * default off). Long enough for the largest body over a slow link; an SSE stream or a WebSocket
 * is not a request in progress once its headers are in, so it is not cut.
 */
export const REQUEST_TIMEOUT_MS = 30_000;

/**
 * Answers to what Node refuses before a request reaches fastify's routes (a request that timed
 * out, headers too large, malformed HTTP), in the hub's JSON envelope like every other error.
 */
export function clientErrorHandler(
  requestTimeoutMs: number,
): (error: Error & { code?: string }, socket: Socket) => void {
  return (error, socket) => answerClientError(error, socket, requestTimeoutMs);
}

function answerClientError(
  error: Error & { code?: string },
  socket: Socket,
  requestTimeoutMs: number,
): void {
  // A reset socket is gone: nothing to answer.
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  let status: number;
  let body: string;
  if (error.code === "ERR_HTTP_REQUEST_TIMEOUT") {
    status = 408;
    body = JSON.stringify(
      errorEnvelope(
        "request_timeout",
        `the request did not arrive in full within ${requestTimeoutMs} ms`,
      ),
    );
  } else if (error.code === "HPE_HEADER_OVERFLOW") {
    status = 431;
    body = JSON.stringify(errorEnvelope("validation_failed", "request headers too large"));
  } else {
    status = 400;
    body = JSON.stringify(errorEnvelope("validation_failed", "malformed HTTP request"));
  }
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
