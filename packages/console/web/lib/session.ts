import { Chorus } from "@chorus/core";
import type { Credential } from "./link.js";

/** What the console asks for: it reads and watches, never writes. */
const TOKEN_SCOPES = ["read", "subscribe"] as const;
/** A short life, renewed in the background while the page is open: a leaked token soon dies. */
const TOKEN_TTL_SECONDS = 15 * 60;
/** Renew this long before expiry, so a request in flight never carries a dead token. */
const RENEW_MARGIN_MS = 60_000;

export class LoginError extends Error {}

/**
 * Who the page is, held in memory only (never in storage, never in the address). A key is
 * exchanged for a short-lived token at once; the key itself stays in this object only so the
 * token can be renewed, and after a hub restart (a hub without `CHORUS_SECRET` forgets its
 * tokens). A hub without `POST /v1/tokens` gets the key as Bearer.
 *
 * Streams go through `chorus`, a client of @chorus/core's browser entry whose every request
 * passes through {@link Session.send}: the token is added there, renewed when it nears expiry,
 * and minted again once after a 401, so the client itself never holds a credential.
 */
export class Session {
  /** The @chorus/core client the page streams with. */
  readonly chorus: Chorus;
  readonly #base: string;
  readonly #credential: Credential;
  #bearer: string;
  #expiresAt = Number.POSITIVE_INFINITY;
  #renewing: Promise<void> | undefined;

  private constructor(base: string, credential: Credential) {
    this.#base = base;
    this.#credential = credential;
    this.#bearer = credential.value;
    this.chorus = new Chorus({
      url: base,
      fetch: (input, init) => this.send(input, init),
      logger: false,
      drainOnExit: false,
    });
  }

  /** Log in; rejects with a {@link LoginError} the page can show when the hub refuses. */
  static async open(base: string, credential: Credential): Promise<Session> {
    const session = new Session(base, credential);
    await session.#mint();
    const probe = await session.fetch("/v1/intents?limit=1");
    if (probe.status === 401 || probe.status === 403) {
      throw new LoginError(`the hub refused this ${credential.kind} (${probe.status})`);
    }
    return session;
  }

  /** The hub's base URL (`http://host:port`). */
  get base(): string {
    return this.#base;
  }

  get kind(): Credential["kind"] {
    return this.#credential.kind;
  }

  /** The Authorization header value, renewed first when the token is about to expire. */
  async authorization(): Promise<string> {
    if (Date.now() > this.#expiresAt - RENEW_MARGIN_MS) {
      try {
        await this.renew();
      } catch (error) {
        // The key was refused: go on with the token we hold. Once it has expired the hub
        // answers 401, and `send` hands that on, which ends the streams for good.
        if (!(error instanceof LoginError)) throw error;
      }
    }
    return `Bearer ${this.#bearer}`;
  }

  /** Mint a fresh token (after a 401); one renewal at a time however many callers ask. */
  renew(): Promise<void> {
    this.#renewing ??= this.#mint().finally(() => {
      this.#renewing = undefined;
    });
    return this.#renewing;
  }

  /** fetch a path of the hub with the session's credential. */
  fetch(path: string, init: RequestInit = {}): Promise<Response> {
    return this.send(`${this.#base}${path}`, init);
  }

  /**
   * fetch with the session's credential; one retry with a fresh token on 401. When the hub
   * refuses the key itself (revoked), the answer is its 401, not an error: the streams read a
   * 401 as "refused for good" and stop, where a thrown error would read as "hub away" and be
   * retried forever, each retry one more refused key on the hub's failed-login count.
   */
  async send(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const attempt = async () => {
      const headers = new Headers(init.headers);
      headers.set("authorization", await this.authorization());
      return fetch(url, { ...init, headers });
    };
    const response = await attempt();
    if (response.status !== 401 || this.#credential.kind !== "key") return response;
    try {
      await this.renew();
    } catch (error) {
      if (error instanceof LoginError) return response;
      throw error; // the hub went away meanwhile: a network error, retried
    }
    return attempt();
  }

  async json<T>(path: string): Promise<T> {
    const response = await this.fetch(path);
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    return (await response.json()) as T;
  }

  async #mint(): Promise<void> {
    if (this.#credential.kind !== "key") return;
    const response = await fetch(`${this.#base}/v1/tokens`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${this.#credential.value}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ scopes: TOKEN_SCOPES, ttlSeconds: TOKEN_TTL_SECONDS }),
    });
    if (response.status === 404) {
      this.#bearer = this.#credential.value; // a hub from before tokens: the key is the bearer
      return;
    }
    if (response.status === 401 || response.status === 403) {
      throw new LoginError(`the hub refused this key (${response.status})`);
    }
    if (!response.ok) throw new Error(`could not get a token: HTTP ${response.status}`);
    const { token, expiresAt } = (await response.json()) as { token: string; expiresAt: string };
    this.#bearer = token;
    this.#expiresAt = Date.parse(expiresAt);
  }
}
