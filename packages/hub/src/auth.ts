import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { SCOPES, type Scope } from "@chorus/protocol";

export interface ApiKeyConfig {
  org: string;
  key: string;
  /** Defaults to every scope. */
  scopes?: Scope[];
}

export interface Principal {
  org: string;
  scopes: ReadonlySet<Scope>;
  /** How the caller authenticated; never the secret itself. */
  via: "api_key" | "realtime_token" | "access_token";
  /** Short, non-reversible label for logs: the first 8 hex characters of the key's SHA-256. */
  keyId: string;
  /** Set on an access token narrowed to channels: it may touch those channels and nothing else. */
  channels?: ReadonlySet<string>;
  /** Expiry (epoch ms) of a token; a token never mints one that outlives it. */
  expiresAt?: number;
}

/** Whether the principal may act with `scope` (`admin` implies every scope). */
export function hasScope(principal: Principal, scope: Scope): boolean {
  return principal.scopes.has(scope) || principal.scopes.has("admin");
}

/** Why a bearer secret was refused: the client's fix differs. */
export type AuthFailure = "invalid" | "expired";

/**
 * Shortest API key accepted: failed authentication is not throttled per client, so a key must
 * be long enough that guessing it over the network is hopeless (16 random base64 characters
 * are 96 bits; generated dev keys carry 144).
 */
export const MIN_KEY_LENGTH = 16;

/**
 * Parse `org:key,org2:key2` (optionally `org:key:publish+read` to narrow scopes).
 * Throws on a malformed entry: a typo here must stop the hub, not open it.
 */
export function parseApiKeys(spec: string): ApiKeyConfig[] {
  return spec
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const [org, key, scopeSpec, ...rest] = entry.split(":");
      if (!org || !key || rest.length > 0) {
        throw new Error("CHORUS_API_KEYS entries must look like org:key or org:key:scope+scope");
      }
      if (!/^[A-Za-z0-9_.-]{1,100}$/.test(org)) {
        throw new Error(`CHORUS_API_KEYS: invalid org name "${org}"`);
      }
      if (key.length < MIN_KEY_LENGTH) {
        throw new Error(
          `CHORUS_API_KEYS: the key for org "${org}" is too short (at least ${MIN_KEY_LENGTH} characters)`,
        );
      }
      const config: ApiKeyConfig = { org, key };
      if (scopeSpec) {
        const scopes = scopeSpec.split("+");
        for (const s of scopes) {
          if (!(SCOPES as readonly string[]).includes(s)) {
            throw new Error(`CHORUS_API_KEYS: unknown scope "${s}" (use ${SCOPES.join(", ")})`);
          }
        }
        config.scopes = scopes as Scope[];
      }
      return config;
    });
}

function sha256(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}

/** A realtime token is `base64url(claims).base64url(hmac)`, signed with the hub's secret. */
interface TokenClaims {
  org: string;
  scopes: Scope[];
  /** Client id the token is bound to. */
  cid: string;
  /** Expiry, epoch milliseconds. */
  exp: number;
  /** keyId of the key that minted it (absent in tokens of older hubs). */
  kid?: string;
}

const TOKEN_PREFIX = "crt1.";

interface KeyEntry {
  org: string;
  scopes: ReadonlySet<Scope>;
}

/**
 * Whether `signature` is exactly the base64url text of `expected`. Comparing decoded bytes would
 * let a signature with characters appended or changed in its last character's unused bits pass:
 * one token with many spellings.
 */
function signatureMatches(signature: string, expected: Buffer): boolean {
  const given = Buffer.from(signature);
  const wanted = Buffer.from(expected.toString("base64url"));
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

/**
 * An access token (`POST /v1/tokens`) is `cat1.base64url(claims).base64url(hmac)`. The HMAC
 * covers the prefix too, so a realtime token can never pass for an access token or the reverse.
 */
export const ACCESS_TOKEN_PREFIX = "cat1.";

interface AccessClaims {
  org: string;
  scopes: Scope[];
  /** Channels the token is narrowed to; absent: not narrowed. */
  ch?: string[];
  /** Expiry, epoch milliseconds. */
  exp: number;
  /** keyId of the key (or token) that minted it, so logs can tie the two together. */
  kid: string;
}

export interface AccessTokenGrant {
  scopes: Scope[];
  channels?: string[] | undefined;
  ttlMs: number;
}

/**
 * Authenticates API keys and issues / verifies short-lived realtime tokens.
 * Keys are held only as SHA-256 digests, looked up by digest, so comparisons leak no timing
 * about the key and a heap dump holds no key.
 */
export class Authenticator {
  readonly #byDigest = new Map<string, KeyEntry>();
  /** The configured keys by key id (a token's `kid`); ids of 8 hex characters may collide. */
  readonly #byKeyId = new Map<string, KeyEntry[]>();
  readonly #secret: Buffer;

  constructor(keys: ApiKeyConfig[], secret?: string) {
    for (const k of keys) {
      const digest = sha256(k.key).toString("hex");
      const entry: KeyEntry = { org: k.org, scopes: new Set(k.scopes ?? SCOPES) };
      this.#byDigest.set(digest, entry);
      const keyId = digest.slice(0, 8);
      this.#byKeyId.set(keyId, [...(this.#byKeyId.get(keyId) ?? []), entry]);
    }
    this.#secret = secret ? sha256(secret) : randomBytes(32);
  }

  /**
   * The scopes a token still has: those of its claims that the key it was minted from still
   * grants. A token dies with its key (removed from the configuration, or moved to another org)
   * and loses what the key no longer grants, on every hub that shares the secret.
   */
  #liveScopes(org: unknown, kid: unknown, scopes: unknown): Set<Scope> | undefined {
    if (typeof org !== "string" || !Array.isArray(scopes)) return undefined;
    const key = this.#byKeyId.get(String(kid))?.find((k) => k.org === org);
    if (!key) return undefined;
    const granted = key.scopes.has("admin")
      ? scopes
      : scopes.filter((s) => key.scopes.has(s as Scope));
    return new Set(granted as Scope[]);
  }

  get orgs(): string[] {
    return [...new Set([...this.#byDigest.values()].map((v) => v.org))];
  }

  /** The principal for an API key, or undefined. */
  authenticateKey(key: string): Principal | undefined {
    const digest = sha256(key).toString("hex");
    const entry = this.#byDigest.get(digest);
    if (!entry) return undefined;
    return { org: entry.org, scopes: entry.scopes, via: "api_key", keyId: digest.slice(0, 8) };
  }

  /** Accepts an API key or a realtime token (as given to the MQTT CONNECT password). */
  authenticateSecret(secret: string, clientId?: string): Principal | undefined {
    if (secret.startsWith(TOKEN_PREFIX)) return this.verifyToken(secret, clientId);
    return this.authenticateKey(secret);
  }

  /** A realtime token for `ttlMs`, never outliving `principal` (a token asking for one). */
  issueToken(
    principal: Principal,
    clientId: string,
    ttlMs: number,
  ): { token: string; expiresAt: Date } {
    // Capped here, not only by the caller's ttl: a ttl read off the principal's expiry a
    // millisecond earlier would outlive it by that millisecond.
    const exp = Math.min(Date.now() + ttlMs, principal.expiresAt ?? Number.POSITIVE_INFINITY);
    const claims: TokenClaims = {
      org: principal.org,
      scopes: [...principal.scopes],
      cid: clientId,
      exp,
      kid: principal.keyId,
    };
    const body = Buffer.from(JSON.stringify(claims)).toString("base64url");
    const sig = createHmac("sha256", this.#secret).update(body).digest("base64url");
    return { token: `${TOKEN_PREFIX}${body}.${sig}`, expiresAt: new Date(exp) };
  }

  /**
   * Mint an access token narrowed to `grant`. The caller has checked that the grant is no wider
   * than `principal` (see routes/tokens.ts); the expiry is capped at the principal's own.
   */
  issueAccessToken(
    principal: Principal,
    grant: AccessTokenGrant,
  ): { token: string; expiresAt: Date } {
    const exp = Math.min(Date.now() + grant.ttlMs, principal.expiresAt ?? Number.POSITIVE_INFINITY);
    const claims: AccessClaims = {
      org: principal.org,
      scopes: grant.scopes,
      ...(grant.channels ? { ch: grant.channels } : {}),
      exp,
      kid: principal.keyId,
    };
    const body = Buffer.from(JSON.stringify(claims)).toString("base64url");
    return {
      token: `${ACCESS_TOKEN_PREFIX}${body}.${this.#sign(ACCESS_TOKEN_PREFIX + body)}`,
      expiresAt: new Date(exp),
    };
  }

  /** The principal of an access token, or why it was refused. */
  verifyAccessToken(token: string): Principal | AuthFailure {
    if (!token.startsWith(ACCESS_TOKEN_PREFIX)) return "invalid";
    const rest = token.slice(ACCESS_TOKEN_PREFIX.length);
    const dot = rest.indexOf(".");
    if (dot < 0) return "invalid";
    const body = rest.slice(0, dot);
    if (!signatureMatches(rest.slice(dot + 1), this.#mac(ACCESS_TOKEN_PREFIX + body)))
      return "invalid";
    let claims: AccessClaims;
    try {
      claims = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as AccessClaims;
    } catch {
      return "invalid";
    }
    if (typeof claims.exp !== "number" || typeof claims.kid !== "string") return "invalid";
    if (claims.exp <= Date.now()) return "expired";
    const scopes = this.#liveScopes(claims.org, claims.kid, claims.scopes);
    if (!scopes) return "invalid";
    return {
      org: claims.org,
      scopes,
      via: "access_token",
      // The minting key's id: its tokens share its rate limit and stream cap, and logs name it.
      keyId: claims.kid,
      expiresAt: claims.exp,
      ...(claims.ch ? { channels: new Set(claims.ch) } : {}),
    };
  }

  /** An `Authorization: Bearer` secret: an API key or an access token. */
  authenticateBearer(secret: string): Principal | AuthFailure {
    if (secret.startsWith(ACCESS_TOKEN_PREFIX)) return this.verifyAccessToken(secret);
    return this.authenticateKey(secret) ?? "invalid";
  }

  #sign(data: string): string {
    return this.#mac(data).toString("base64url");
  }

  #mac(data: string): Buffer {
    return createHmac("sha256", this.#secret).update(data).digest();
  }

  /** Verify signature, expiry and (when given) the client id the token was issued for. */
  verifyToken(token: string, clientId?: string): (Principal & { expiresAt: number }) | undefined {
    const rest = token.slice(TOKEN_PREFIX.length);
    const dot = rest.indexOf(".");
    if (!token.startsWith(TOKEN_PREFIX) || dot < 0) return undefined;
    const body = rest.slice(0, dot);
    if (!signatureMatches(rest.slice(dot + 1), this.#mac(body))) return undefined;
    let claims: TokenClaims;
    try {
      claims = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as TokenClaims;
    } catch {
      return undefined;
    }
    if (typeof claims.exp !== "number" || claims.exp <= Date.now()) return undefined;
    if (clientId !== undefined && claims.cid !== clientId) return undefined;
    // A token of an older hub names no key: nothing to tie it to, it lives out its hour.
    const scopes =
      claims.kid === undefined
        ? new Set(claims.scopes)
        : this.#liveScopes(claims.org, claims.kid, claims.scopes);
    if (!scopes) return undefined;
    return {
      org: claims.org,
      scopes,
      via: "realtime_token",
      // The minting key's id: its connections share its connection cap and publish rate.
      keyId:
        typeof claims.kid === "string"
          ? claims.kid
          : createHash("sha256").update(body).digest("hex").slice(0, 8),
      expiresAt: claims.exp,
    };
  }
}

/** Parse a bearer `Authorization` header value. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}
