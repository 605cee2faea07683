import { setTimeout as delay } from "node:timers/promises";
import { classify } from "./classify.js";
import { ConnectionError } from "./errors.js";
import { type HttpConfig, HttpClient, type HttpRequest, type HttpResponse } from "./http.js";
import { hubBaseUrl } from "./options.js";

/**
 * Several hubs of one cluster, as `url` takes them (a list, or a string with commas), normalized
 * and joined with commas; `undefined` when any of them is not an http(s) URL. Node only
 * (`platform.ts`): a page's bundle, which counts its bytes, takes one URL.
 */
export function hubBaseUrls(url: string | readonly string[]): string | undefined {
  const hubs: string[] = [];
  for (const raw of typeof url === "string" ? url.split(",") : url) {
    if (raw.trim() === "") continue;
    const base = hubBaseUrl(raw);
    if (base === undefined) return undefined;
    if (!hubs.includes(base)) hubs.push(base);
  }
  return hubs.length > 0 ? hubs.join(",") : undefined;
}

/**
 * The HTTP client of a Node client, closed with it ({@link closing}), whether given one hub or
 * several (`config.baseUrl` is their comma-separated list). Hubs on one Postgres are
 * interchangeable (any serves any request; seq, and so a stream's cursor, is global), so it
 * uses one until it fails to answer (refused, timeout, broken connection, 5xx), then the next,
 * and stays there while it answers, as the NATS and Kafka clients treat their server lists. A
 * request whose resending is harmless (not applied: refused, 503; or a batch, whose ids
 * deduplicate; or a GET) goes to the next hub at once, each hub once:
 * one dead hub costs no backoff and opens no circuit while another answers. What fails on every
 * hub, or may have been applied and is not idempotent, fails as before (the caller's retries,
 * the circuit, fail-open). Node only (`platform.ts`).
 */
export class FailoverHttpClient extends HttpClient {
  /** The hubs, in order of preference. */
  readonly hubs: readonly string[];
  /** The config object the base class reads `baseUrl` from (shared by reference). */
  readonly #config: HttpConfig;
  #current = 0;
  /**
   * Aborted when the client closes ({@link abortAll}, from `close()`): from then on no request
   * is sent (each fails at once with a `ConnectionError`, `reason: "closed"`), an awaited call
   * waiting out its retry backoff stops waiting ({@link wait}), and a stream does not connect, so
   * nothing of a closed client reaches the network or holds the process. (Node only: a page's
   * bundle counts its bytes, and a page has no process to hold.)
   */
  readonly closing = new AbortController();

  constructor(config: HttpConfig) {
    const hubs = config.baseUrl.split(",");
    config.baseUrl = hubs[0] as string;
    super(config);
    this.#config = config;
    this.hubs = hubs;
  }

  /**
   * The hub at `base` failed to answer: requests from now on go to the next one. Only the first
   * report about the current hub moves it, so requests failing together skip one hub, not several.
   */
  failover(base: string): void {
    if (this.hubs[this.#current] !== base) return;
    this.#current = (this.#current + 1) % this.hubs.length;
    this.#config.baseUrl = this.hubs[this.#current] as string;
  }

  /** The wait before a retry, ended by `close()`: no process is held for a retry never sent. */
  override wait(ms: number): Promise<unknown> {
    return delay(ms, undefined, { signal: this.closing.signal }).catch(() => {});
  }

  /** The client is closing: abort what is in flight, and refuse every request from now on. */
  override abortAll(): void {
    this.closing.abort();
    super.abortAll();
  }

  override async send(request: HttpRequest): Promise<HttpResponse> {
    if (this.closing.signal.aborted) {
      const what = `${request.method} ${request.path}`;
      throw new ConnectionError(`${what} not sent: the client is closed`, { reason: "closed" });
    }
    for (let tried = 1; ; tried++) {
      const base = this.baseUrl;
      try {
        return await super.send(request);
      } catch (error) {
        const c = classify(error);
        if (!c.outage) throw error;
        this.failover(base);
        const harmless = !c.mayHaveApplied || request.background || request.method === "GET";
        if (tried >= this.hubs.length || !harmless) throw error;
      }
    }
  }
}

/** What `platform.ts` hands the shared code: list parsing and the failover client. */
export const severalHubs = { url: hubBaseUrls, Http: FailoverHttpClient };
