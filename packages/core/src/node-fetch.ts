import { Agent as HttpAgent, type IncomingMessage, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { FetchFunction } from "./options.js";

/**
 * The request/response half of `fetch` on `node:http`, for the client's background requests
 * (event batches) when the caller gave no `fetch`.
 *
 * Why not the global `fetch`: its sockets cannot be `unref()`'d, so a batch in flight to a hub
 * that accepted the connection and never answers keeps the user's process alive until the request
 * timeout (10 s by default), even after `close()` returned. Here every socket is unref'd the
 * moment it is assigned (Node's agent refs a pooled socket again when it reuses it, so this runs
 * on every request): background delivery never holds the event loop open. Whoever awaits
 * `flush()`/`close()` holds it through that call's (ref'd) timer, for at most its timeout.
 *
 * Keep-alive agents of our own, so the process's other HTTP traffic shares nothing with ours.
 * Bodies are buffered up to MAX_RESPONSE_BODY_BYTES (the hub's answers are small); streams
 * (SSE) keep using the global `fetch`.
 */
/**
 * The hub answers a batch with its ids (about 40 KB for the largest batch). Past this, a body is
 * not read any further and the answer is its status with an empty body: a server that sends
 * without end cannot grow the client's memory, and its batch counts as failed (no hub answers so).
 */
export const MAX_RESPONSE_BODY_BYTES = 1024 * 1024;

const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 8 });
const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 8 });

export const nodeFetch: FetchFunction = (input, init) =>
  new Promise<Response>((resolve, reject) => {
    const url = new URL(input);
    const secure = url.protocol === "https:";
    const signal = init?.signal ?? undefined;
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const req = (secure ? httpsRequest : httpRequest)(url, {
      method: init?.method ?? "GET",
      headers: toHeaderRecord(init?.headers),
      agent: secure ? httpsAgent : httpAgent,
      signal,
    });
    req.on("socket", (socket) => socket.unref());
    req.on("error", reject);
    req.on("response", (res: IncomingMessage) => {
      let chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_RESPONSE_BODY_BYTES) chunks.push(chunk);
        else {
          chunks = [];
          respond();
          res.destroy();
        }
      });
      res.on("error", reject);
      res.on("end", respond);
      function respond(): void {
        const status = res.statusCode ?? 0;
        const headers = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (Array.isArray(value)) for (const v of value) headers.append(name, v);
          else if (value !== undefined) headers.set(name, value);
        }
        const nullBody = status === 204 || status === 304 || init?.method === "HEAD";
        resolve(
          new Response(nullBody || size > MAX_RESPONSE_BODY_BYTES ? null : Buffer.concat(chunks), {
            status,
            statusText: res.statusMessage,
            headers,
          }),
        );
      }
    });
    const body = init?.body;
    if (body === undefined || body === null) req.end();
    else if (typeof body === "string" || body instanceof Uint8Array) req.end(body);
    else {
      req.destroy();
      reject(new TypeError("nodeFetch sends string or byte bodies only"));
    }
  });

function toHeaderRecord(headers: RequestInit["headers"]): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  new Headers(headers).forEach((value, name) => {
    out[name] = value;
  });
  return out;
}
