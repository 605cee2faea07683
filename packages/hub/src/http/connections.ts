import type { Server } from "node:http";
import type { Socket } from "node:net";

/**
 * Lets shutdown end every connection that carries no request. `server.close()` waits for all
 * sockets, and Node's `closeIdleConnections()` skips sockets that never sent a request, which
 * HTTP clients open ahead of need (undici does after each closed stream). Without this, one
 * such socket holds `hub.close()` until the keep-alive timeout.
 */
export function trackConnections(server: Server): { drain(): void } {
  const sockets = new Set<Socket>();
  /** In-flight requests per socket; a socket absent here is idle. */
  const inFlight = new Map<Socket, number>();
  let draining = false;

  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => {
      sockets.delete(socket);
      inFlight.delete(socket);
    });
  });
  // An upgraded socket (the broker's WebSocket at /mqtt) belongs to whoever took the upgrade.
  // Answering upgrades (and serving other paths as plain HTTP, which closes the socket after its
  // answer) is the broker's job.
  server.on("upgrade", (_request, socket: Socket) => {
    sockets.delete(socket);
  });
  server.on("request", (request, response) => {
    const socket = request.socket;
    inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1);
    response.once("close", () => {
      const left = (inFlight.get(socket) ?? 1) - 1;
      if (left > 0) {
        inFlight.set(socket, left);
        return;
      }
      inFlight.delete(socket);
      // end(), not destroy(): the response may still sit in the socket's write buffer.
      if (draining) socket.end();
    });
  });

  return {
    drain() {
      draining = true;
      for (const socket of sockets) if (!inFlight.has(socket)) socket.end();
    },
  };
}
