import { randomUUID } from "node:crypto";
import { type IncomingMessage, type Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { type ErrorCode, errorEnvelope } from "@chorus/protocol";

/**
 * Answer a request Node took away from fastify (`connect`, `upgrade`) with the protocol's JSON
 * error envelope, written straight to the socket, which then closes.
 */
export function answerRaw(socket: Duplex, status: string, code: ErrorCode, message: string): void {
  socket.on("error", () => socket.destroy());
  const requestId = randomUUID();
  const body = JSON.stringify(errorEnvelope(code, message, { requestId }));
  socket.end(
    [
      `HTTP/1.1 ${status}`,
      "Content-Type: application/json; charset=utf-8",
      `Content-Length: ${Buffer.byteLength(body)}`,
      `X-Request-Id: ${requestId}`,
      "Connection: close",
      "",
      body,
    ].join("\r\n"),
  );
}

/**
 * Serve a request that offered an `Upgrade` the hub does not do (`curl --http2` offers `h2c`
 * on every request) as the plain HTTP/1.1 request it also is, as RFC 9110 §7.8 lets a server
 * do. Once a server has an `upgrade` listener (MQTT over WebSocket), Node hands every such
 * request to it instead of to fastify, and has already ended the request's body stream: a
 * request without a body is given back to the server's request handler on the same socket
 * (closed after the answer), one with a body gets a JSON 400 saying to send it without
 * `Upgrade`.
 */
export function serveWithoutUpgrade(
  server: Server,
  request: IncomingMessage,
  socket: Duplex,
): void {
  const length = request.headers["content-length"];
  if (
    request.headers["transfer-encoding"] !== undefined ||
    (length !== undefined && length !== "0")
  ) {
    answerRaw(
      socket,
      "400 Bad Request",
      "validation_failed",
      `Upgrade: ${request.headers.upgrade ?? ""} is not supported here; send the request without an Upgrade header (the hub speaks HTTP/1.1)`,
    );
    return;
  }
  socket.on("error", () => socket.destroy());
  const response = new ServerResponse(request);
  response.shouldKeepAlive = false;
  response.assignSocket(socket as Socket);
  response.on("finish", () => {
    response.detachSocket(socket as Socket);
    socket.end();
  });
  server.emit("request", request, response);
}
