import {
  Agent as HttpAgent,
  type IncomingHttpHeaders,
  type IncomingMessage,
  request as httpRequest,
} from "node:http";
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
 * The answer is a {@link NodeAnswer}, not a `Response`, and request headers are read without
 * `Headers`: in Node 20 the first use of the global `Headers` or `Response` loads the bundled
 * undici, about 40 ms of CPU on the application's thread at its first batch (measured: a
 * process's `close()` against a refused hub took 45 ms instead of 5).
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
        const nullBody = status === 204 || status === 304 || init?.method === "HEAD";
        const text =
          nullBody || size > MAX_RESPONSE_BODY_BYTES ? "" : Buffer.concat(chunks).toString("utf8");
        resolve(new NodeAnswer(status, res.statusMessage ?? "", res.headers, text) as never);
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

/** Request headers as node:http takes them, read without the global `Headers` (see above). */
function toHeaderRecord(headers: RequestInit["headers"]): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  if (Array.isArray(headers)) {
    for (const [name, value] of headers) out[String(name).toLowerCase()] = String(value);
  } else if (typeof (headers as { forEach?: unknown }).forEach === "function") {
    (headers as Headers).forEach((value, name) => {
      out[name] = value;
    });
  } else {
    for (const [name, value] of Object.entries(headers)) out[name.toLowerCase()] = String(value);
  }
  return out;
}

/**
 * The part of a `Response` the client's HTTP layer reads (`status`, `ok`, `statusText`,
 * `headers.get`, `text()`), over node:http's answer.
 */
export class NodeAnswer {
  readonly ok: boolean;
  readonly headers: { get(name: string): string | null };
  /** The body, already read (a `Response`'s `body` would be a stream; this has none). */
  readonly #text: string;

  constructor(
    readonly status: number,
    readonly statusText: string,
    raw: IncomingHttpHeaders,
    text: string,
  ) {
    this.#text = text;
    this.ok = status >= 200 && status < 300;
    this.headers = {
      get(name: string): string | null {
        const value = raw[name.toLowerCase()];
        if (value === undefined) return null;
        return Array.isArray(value) ? value.join(", ") : value;
      },
    };
  }

  text(): Promise<string> {
    return Promise.resolve(this.#text);
  }
}
