import { ConnectionError, errorFromResponse, ValidationError } from "./errors.js";
import { parseRetryAfter } from "./backoff.js";
import type { FetchFunction } from "./options.js";
import { NOT_SENT_CODES, readText, socketErrorCode } from "./platform.js";
import { EventBatchBody } from "./json-batch.js";
import { MAX_ANSWER_BYTES } from "./answer-bytes.js";

export type HttpMethod = "GET" | "POST" | "PATCH" | "DELETE";

export interface HttpRequest {
  method: HttpMethod;
  /** Path under the hub URL, starting with `/v1/`. Callers encode path segments. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  /** A value to send as JSON. */
  json?: unknown;
  /** A body that is already JSON (batches are assembled from events serialized at enqueue). */
  rawJson?: string | EventBatchBody;
  contentType?: string;
  headers?: Record<string, string>;
  /** Nobody awaits this request (background delivery): it must not keep the process alive. */
  background?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  body: unknown;
}

export interface HttpConfig {
  baseUrl: string;
  apiKey: string | undefined;
  timeoutMs: number;
  fetch: FetchFunction | undefined;
  /**
   * The fetch of a request when the caller gave none: in Node, `node:http` (`node-fetch.ts`),
   * whose sockets never hold the event loop for a background request (event batches) and hold
   * it until the answer for an awaited one; in a browser, none (the page's `fetch`). Streams use
   * `fetch` or the global one.
   */
  platformFetch?: ((background: boolean | undefined) => FetchFunction) | undefined;
}

export { MAX_ANSWER_BYTES };

/**
 * The one place the client sends HTTP. Every request carries the API key and a timeout
 * (an `AbortSignal` that also covers reading the body, so a hub that stalls mid-answer cannot
 * hold a request forever). Failures come out as typed errors: {@link ConnectionError} for
 * network trouble, timeouts and 5xx, the matching caller error for 4xx.
 */
export class HttpClient {
  readonly #config: HttpConfig;
  /** Requests in flight, so {@link abortAll} can end them (`close()` when its time is up). */
  readonly #inFlight = new Set<AbortController>();

  constructor(config: HttpConfig) {
    this.#config = config;
  }

  /** Abort every request in flight now; each rejects with a {@link ConnectionError} (`aborted`). */
  abortAll(): void {
    for (const controller of this.#inFlight) controller.abort();
    this.#inFlight.clear();
  }

  /**
   * An awaited call's wait before it sends again: a caller is awaiting it, so the timer keeps
   * the process alive (unlike background timers). In Node `close()` ends it early (failover.ts).
   */
  wait(ms: number): Promise<unknown> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  get baseUrl(): string {
    return this.#config.baseUrl;
  }

  /** The fetch this client uses, for the SSE streams. */
  get fetch(): FetchFunction {
    // Called as a method of this object later: a browser's fetch refuses any `this` but its own.
    return this.#config.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  /** Headers every request carries (used by SSE too). */
  authHeaders(): Record<string, string> {
    return this.#config.apiKey ? { authorization: `Bearer ${this.#config.apiKey}` } : {};
  }

  url(path: string, query?: HttpRequest["query"]): string {
    let url = `${this.#config.baseUrl}${path}`;
    if (query) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
      const qs = params.toString();
      if (qs) url += `?${qs}`;
    }
    return url;
  }

  async send(request: HttpRequest): Promise<HttpResponse> {
    const timeout = AbortSignal.timeout(this.#config.timeoutMs);
    const controller = new AbortController();
    const signal = AbortSignal.any([timeout, controller.signal]);
    this.#inFlight.add(controller);
    const headers: Record<string, string> = {
      accept: "application/json",
      ...this.authHeaders(),
      ...request.headers,
    };
    const fetch =
      this.#config.fetch ?? this.#config.platformFetch?.(request.background) ?? globalThis.fetch;
    let body: string | Uint8Array | undefined;
    if (request.rawJson instanceof EventBatchBody)
      // A `fetch` from the options gets text, as it always has; the built-in ones take bytes.
      body = fetch === this.#config.fetch ? request.rawJson.text() : request.rawJson.bytes();
    else if (request.rawJson !== undefined) body = request.rawJson;
    else if (request.json !== undefined) body = JSON.stringify(request.json);
    if (body !== undefined) headers["content-type"] = request.contentType ?? "application/json";

    let response: Response;
    let text: string;
    try {
      response = await fetch(this.url(request.path, request.query), {
        method: request.method,
        headers,
        body,
        signal,
      });
      text = await readText(response, MAX_ANSWER_BYTES);
    } catch (error) {
      // An answer past the bound (see readText) is refused as it is; the rest is the network's.
      throw error instanceof ValidationError
        ? error
        : this.#networkError(error, timeout, controller.signal, request);
    } finally {
      this.#inFlight.delete(controller);
    }
    const parsed = parseBody(text);
    if (!response.ok) {
      throw errorFromResponse(
        response.status,
        parsed,
        parseRetryAfter(response.headers.get("retry-after")),
      );
    }
    return { status: response.status, headers: response.headers, body: parsed };
  }

  #networkError(
    error: unknown,
    timeout: AbortSignal,
    aborted: AbortSignal,
    request: HttpRequest,
  ): ConnectionError {
    const where = `${request.method} ${request.path}`;
    if (aborted.aborted) {
      return new ConnectionError(`${where} aborted: the client is closing`, {
        reason: "closed",
        cause: error,
      });
    }
    if (timeout.aborted) {
      return new ConnectionError(`${where} timed out after ${this.#config.timeoutMs} ms`, {
        reason: "timeout",
        cause: error,
      });
    }
    const code = socketErrorCode(error);
    const reason = code !== undefined && NOT_SENT_CODES.has(code) ? "refused" : "network";
    return new ConnectionError(`${where} failed: ${code ?? describe(error)}`, {
      reason,
      cause: error,
    });
  }
}

function parseBody(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
