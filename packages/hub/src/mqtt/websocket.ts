import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { MAX_BODY_BYTES } from "@chorus/protocol";
import { createWebSocketStream, type WebSocket, WebSocketServer } from "ws";
import { answerRaw, serveWithoutUpgrade } from "../http/raw-answer.js";
import { MAX_CONNECT_PACKET_BYTES } from "./packet-limit.js";

/** Where MQTT-over-WebSocket lives on the HTTP port (DESIGN.md, "MQTT"). */
export const MQTT_WS_PATH = "/mqtt";
/** The subprotocol MQTT 3.1.1 registers for WebSocket. */
const MQTT_SUBPROTOCOL = "mqtt";
/**
 * Largest WebSocket message: the ingest limit plus room for MQTT framing. `ws` defaults to
 * 100 MiB, which would let one socket buffer far more than the hub would ever store.
 */
const MAX_WS_MESSAGE_BYTES = MAX_BODY_BYTES + 64 * 1024;
/**
 * Largest WebSocket message before the client is authenticated: its CONNECT (MQTT clients send a
 * packet per message) plus WebSocket framing. `ws` buffers a whole message before the MQTT
 * packet limit sees it, so with only the limit above 100 unauthenticated sockets that each sent
 * most of a 4 MiB message held 400 MB until the connect timeout.
 */
const MAX_WS_CONNECT_MESSAGE_BYTES = MAX_CONNECT_PACKET_BYTES + 1024;

export interface WebSocketListener {
  /** Stop accepting, drop open connections, detach from the HTTP server. Idempotent. */
  close(): Promise<void>;
}

/**
 * MQTT over WebSocket on the HTTP server's `/mqtt` path. A request to any other path that asks
 * for an upgrade is served as plain HTTP (`serveWithoutUpgrade`); the HTTP server stays its
 * owner's to close. A connection's messages are held to the CONNECT's size until `handle`'s
 * `admitted()` (the client authenticated).
 */
export function attachWebSocket(
  httpServer: Server,
  handle: (stream: Duplex, request: IncomingMessage, admitted: () => void) => void,
): WebSocketListener {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_WS_MESSAGE_BYTES,
    // Prefer `mqtt`; older clients that offer only `mqttv3.1` still get an answer they expect.
    handleProtocols: (offered) =>
      offered.has(MQTT_SUBPROTOCOL) ? MQTT_SUBPROTOCOL : (offered.values().next().value ?? false),
  });
  let closing = false;

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (pathname(request) !== MQTT_WS_PATH) {
      // Not a WebSocket the hub serves: the plain request it also is (h2c offers included).
      serveWithoutUpgrade(httpServer, request, socket);
      return;
    }
    if (closing) {
      answerRaw(socket, "503 Service Unavailable", "unavailable", "the hub is shutting down");
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      const admitted = limitUntilAdmitted(ws);
      const stream = createWebSocketStream(ws);
      // aedes listens for stream errors once it owns the stream; until then do not crash.
      stream.on("error", () => {});
      handle(stream, request, admitted);
    });
  };
  httpServer.on("upgrade", onUpgrade);

  let closed: Promise<void> | undefined;
  return {
    close() {
      closed ??= new Promise<void>((resolve) => {
        closing = true;
        httpServer.off("upgrade", onUpgrade);
        for (const ws of wss.clients) ws.terminate();
        wss.close(() => resolve());
      });
      return closed;
    },
  };
}

function pathname(request: IncomingMessage): string | undefined {
  try {
    return new URL(request.url ?? "/", "http://localhost").pathname;
  } catch {
    return undefined;
  }
}

/**
 * Hold `ws`'s messages to {@link MAX_WS_CONNECT_MESSAGE_BYTES} until the returned function is
 * called. `ws` has one `maxPayload` per server, so this sets its receiver's own limit (the
 * `_maxPayload` field `ws` 8 reads for every frame); should a later `ws` not have it, the
 * server's limit still holds and nothing breaks (the test of this path says so).
 */
function limitUntilAdmitted(ws: WebSocket): () => void {
  const receiver = (ws as unknown as { _receiver?: { _maxPayload?: unknown } })._receiver;
  if (typeof receiver?._maxPayload !== "number") return () => {};
  receiver._maxPayload = MAX_WS_CONNECT_MESSAGE_BYTES;
  return () => {
    receiver._maxPayload = MAX_WS_MESSAGE_BYTES;
  };
}
