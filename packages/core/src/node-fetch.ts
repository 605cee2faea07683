import {
  Agent as HttpAgent,
  type IncomingHttpHeaders,
  type IncomingMessage,
  request as httpRequest,
} from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { FetchFunction } from "./options.js";
import { MAX_ANSWER_BYTES } from "./answer-bytes.js";
import { ValidationError } from "./errors.js";
import { answerTooLarge } from "./read-text.js";

/**
 * The request/response half of `fetch` on `node:http`, for the client's own requests when the
 * caller gave no `fetch` (streams, SSE, keep using the global `fetch`).
 *
 * Why not the global `fetch`:
 * - background requests (event batches): its sockets cannot be `unref()`'d, so a batch in flight
 *   to a hub that accepted the connection and never answers keeps the user's process alive until
 *   the request timeout (10 s by default), even after `close()` returned. Here a background
 *   request's socket is unref'd the moment it is assigned (Node's agent refs a pooled socket
 *   again when it reuses it, so this runs on every request): background delivery never holds the
 *   event loop open. Whoever awaits `flush()`/`close()` holds it through that call's (ref'd)
 *   timer, for at most its timeout.
 * - awaited requests (`events.*`, `intents.*`): Node 20's `fetch` against a server that accepts
 *   the connection and closes it at once (a port-forward with nothing behind it) leaves the
 *   promise pending with nothing holding the event loop: the process exits with code 0 in the
 *   middle of `await chorus.events.publish(...)`, the code after it never runs. Here the socket
 *   stays ref'd while the request is in flight, and such a server is a `socket hang up` error.
 *
 * The answer is a {@link NodeAnswer}, not a `Response`, and request headers are read without
 * `Headers`: in Node 20 the first use of the global `Headers` or `Response` loads the bundled
 * undici, about 40 ms of CPU on the application's thread at its first batch (measured: a
 * process's `close()` against a refused hub took 45 ms instead of 5).
 *
 * Keep-alive agents of our own, so the process's other HTTP traffic shares nothing with ours.
 */
/**
 * The hub answers a batch with its ids (about 40 KB for the largest batch). Past this, a batch's
 * answer is not read any further and is its status with an empty body: a server that sends
 * without end cannot grow the client's memory, and its batch counts as failed (no hub answers
 * so). An awaited call reads up to `MAX_ANSWER_BYTES` and fails past it, as with any `fetch`
 * (`read-text.ts`).
 */
export const MAX_RESPONSE_BODY_BYTES = 1024 * 1024;

/** Batches: a client sends one at a time, so a few sockets serve every client of the process. */
const batchAgents = {
  http: new HttpAgent({ keepAlive: true, maxSockets: 8 }),
  https: new HttpsAgent({ keepAlive: true, maxSockets: 8 }),
};
/**
 * Awaited calls: as many at once as the application makes (an agent runner's handlers write
 * concurrently), as with `fetch`; on their own sockets, so no batch in flight delays them.
 */
const awaitedAgents = {
  http: new HttpAgent({ keepAlive: true }),
  https: new HttpsAgent({ keepAlive: true }),
};

/** Background batches: the socket never holds the event loop. */
const batchFetch: FetchFunction = (input, init) => request(input, init, true);

/** Awaited calls: the socket holds the event loop until the answer (or the timeout). */
const awaitedFetch: FetchFunction = (input, init) => request(input, init, false);

/** The client's own fetch for a request, background or awaited (see above). */
export const nodeFetchFor = (background: boolean | undefined): FetchFunction =>
  background ? batchFetch : awaitedFetch;

function request(input: string | URL, init: RequestInit | undefined, background: boolean) {
  return new Promise<Response>((resolve, reject) => {
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
      agent: (background ? batchAgents : awaitedAgents)[secure ? "https" : "http"],
      signal,
    });
    if (background) req.on("socket", (socket) => socket.unref());
    req.on("error", reject);
    const max = background ? MAX_RESPONSE_BODY_BYTES : MAX_ANSWER_BYTES;
    req.on("response", (res: IncomingMessage) => {
      let chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size <= max) chunks.push(chunk);
        else {
          chunks = [];
          if (background) respond();
          else reject(answerTooLarge(url.href, res.statusCode ?? 0, max));
          res.destroy();
        }
      });
      res.on("error", reject);
      res.on("end", respond);
      function respond(): void {
        const status = res.statusCode ?? 0;
        const location = res.headers.location;
        if (status >= 300 && status < 400 && location) {
          // Not followed: the API key would go along to wherever it points.
          reject(redirected(url, status, location));
          return;
        }
        const nullBody = status === 204 || status === 304 || init?.method === "HEAD";
        const text = nullBody || size > max ? "" : Buffer.concat(chunks).toString("utf8");
        resolve(new NodeAnswer(status, res.statusMessage ?? "", res.headers, text) as never);
      }
    });
    const body = init?.body;
    if (body === undefined || body === null) req.end();
    // A string body goes as bytes: node:http writes a string body in one piece with the headers,
    // encoded as UTF-8 with them, which would re-encode a header's bytes (`Chorus-Agent` carries
    // a name's UTF-8 one byte per character, as `fetch` sends it).
    else if (typeof body === "string") req.end(Buffer.from(body));
    else if (body instanceof Uint8Array) req.end(body);
    else {
      req.destroy();
      reject(new TypeError("nodeFetch sends string or byte bodies only"));
    }
  });
}

/** A redirect answered to the client's URL: the URL to configure instead, when it is one. */
function redirected(url: URL, status: number, location: string): ValidationError {
  let target: string;
  try {
    const to = new URL(location, url);
    target = `${to.origin}${to.pathname === url.pathname ? "" : ` (${to.pathname})`}`;
  } catch {
    target = "an address that is not a URL";
  }
  return new ValidationError(
    `${url.origin} answered ${status}, a redirect to ${target}: Chorus does not follow redirects (the API key would go along); set the client's url to the hub's own address`,
    { field: "url", status },
  );
}

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
