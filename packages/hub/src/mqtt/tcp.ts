import { createServer, type Socket } from "node:net";

export interface TcpListener {
  port: number;
  /** Stop accepting and drop open connections. Idempotent. */
  close(): Promise<void>;
}

/**
 * The plain MQTT listener. Open sockets are tracked because `server.close()` alone waits for
 * every connection to end, including ones that never sent CONNECT and aedes does not know of.
 */
export async function listenTcp(
  host: string,
  port: number,
  handle: (socket: Socket) => void,
): Promise<TcpListener> {
  const sockets = new Set<Socket>();
  // No Nagle: the hub already gathers a subscriber's packets into one write per flush pass, and
  // with Nagle on, a write made while the previous one waits for a delayed ACK is held back
  // (16–35 ms spikes at 1,000 events/s in the latency bench). Node's HTTP server, and so SSE
  // and MQTT over WebSocket, already runs without it.
  const server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    handle(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const bound = typeof address === "object" && address ? address.port : port;

  let closed: Promise<void> | undefined;
  return {
    port: bound,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return closed;
    },
  };
}
