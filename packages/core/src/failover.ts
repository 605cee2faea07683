import { classify } from "./classify.js";
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
 * The HTTP client of a client given several hubs (`config.baseUrl` is their comma-separated
 * list). Hubs on one Postgres are interchangeable (any serves any request; seq, and so a
 * stream's cursor, is global), so it uses one until it fails to answer (refused, timeout, broken
 * connection, 5xx), then the next, and stays there while it answers, as the NATS and Kafka
 * clients treat their server lists. A request whose resending is harmless (not applied: refused,
 * 503; or a batch, whose ids deduplicate; or a GET) goes to the next hub at once, each hub once:
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

  override async send(request: HttpRequest): Promise<HttpResponse> {
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
