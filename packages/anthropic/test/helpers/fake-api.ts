import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { SseEvent } from "./messages.js";

/** One scripted answer of the fake Messages API. */
export type Scripted =
  | { kind: "json"; status?: number; body: unknown; headers?: Record<string, string> }
  /**
   * Server-sent events. `pauseAfter`: stop after that many events and keep the connection
   * open (for aborts mid-stream); `resume()` on the server sends the rest.
   */
  | { kind: "sse"; events: SseEvent[]; pauseAfter?: number };

export interface FakeApi {
  /** Base URL for `new Anthropic({ baseURL })`. */
  url: string;
  /** Parsed request bodies, in order. */
  requests: Record<string, unknown>[];
  enqueue(...answers: Scripted[]): void;
  /** Resolves once a paused stream has sent its first part. */
  paused(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A local HTTP server speaking enough of the Messages API for the real SDK: `POST /v1/messages`
 * answers with the next scripted answer, JSON or SSE, with a `request-id` header like the API.
 */
export async function startFakeApi(): Promise<FakeApi> {
  const queue: Scripted[] = [];
  const requests: Record<string, unknown>[] = [];
  const open = new Set<ServerResponse>();
  let pausedWaiters: (() => void)[] = [];
  let requestCount = 0;

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      requestCount++;
      try {
        requests.push(
          JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>,
        );
      } catch {
        requests.push({});
      }
      const answer = queue.shift();
      const requestId = `req_${requestCount}`;
      if (!answer) {
        res.writeHead(500, { "content-type": "application/json", "request-id": requestId });
        res.end(
          JSON.stringify({
            type: "error",
            error: { type: "api_error", message: "nothing scripted" },
          }),
        );
        return;
      }
      if (answer.kind === "json") {
        res.writeHead(answer.status ?? 200, {
          "content-type": "application/json",
          "request-id": requestId,
          ...answer.headers,
        });
        res.end(JSON.stringify(answer.body));
        return;
      }
      res.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
        "request-id": requestId,
      });
      const frame = (e: SseEvent) => `event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`;
      const cut = answer.pauseAfter ?? answer.events.length;
      res.write(answer.events.slice(0, cut).map(frame).join(""));
      if (cut >= answer.events.length) {
        res.end();
        return;
      }
      open.add(res);
      res.on("close", () => open.delete(res));
      const waiters = pausedWaiters;
      pausedWaiters = [];
      for (const w of waiters) w();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    enqueue: (...answers) => queue.push(...answers),
    paused: () =>
      open.size > 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => pausedWaiters.push(resolve)),
    close: async () => {
      for (const res of open) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
