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
  via: "api_key" | "realtime_token";
  /** Short, non-reversible label for logs: the first 8 hex characters of the key's SHA-256. */
  keyId: string;
}

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
}

const TOKEN_PREFIX = "crt1.";

/**
 * Authenticates API keys and issues / verifies short-lived realtime tokens.
 * Keys are held only as SHA-256 digests, looked up by digest, so comparisons leak no timing
 * about the key and a heap dump holds no key.
 */
export class Authenticator {
  readonly #byDigest = new Map<string, { org: string; scopes: ReadonlySet<Scope> }>();
  readonly #secret: Buffer;

  constructor(keys: ApiKeyConfig[], secret?: string) {
    for (const k of keys) {
      this.#byDigest.set(sha256(k.key).toString("hex"), {
        org: k.org,
        scopes: new Set(k.scopes ?? SCOPES),
      });
    }
    this.#secret = secret ? sha256(secret) : randomBytes(32);
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

  issueToken(
    principal: Principal,
    clientId: string,
    ttlMs: number,
  ): { token: string; expiresAt: Date } {
    const exp = Date.now() + ttlMs;
    const claims: TokenClaims = {
      org: principal.org,
      scopes: [...principal.scopes],
      cid: clientId,
      exp,
    };
    const body = Buffer.from(JSON.stringify(claims)).toString("base64url");
    const sig = createHmac("sha256", this.#secret).update(body).digest("base64url");
    return { token: `${TOKEN_PREFIX}${body}.${sig}`, expiresAt: new Date(exp) };
  }

  /** Verify signature, expiry and (when given) the client id the token was issued for. */
  verifyToken(token: string, clientId?: string): (Principal & { expiresAt: number }) | undefined {
    const rest = token.slice(TOKEN_PREFIX.length);
    const dot = rest.indexOf(".");
    if (!token.startsWith(TOKEN_PREFIX) || dot < 0) return undefined;
    const body = rest.slice(0, dot);
    const sig = Buffer.from(rest.slice(dot + 1), "base64url");
    const expected = createHmac("sha256", this.#secret).update(body).digest();
    if (sig.length !== expected.length || !timingSafeEqual(sig, expected)) return undefined;
    let claims: TokenClaims;
    try {
      claims = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as TokenClaims;
    } catch {
      return undefined;
    }
    if (typeof claims.exp !== "number" || claims.exp <= Date.now()) return undefined;
    if (clientId !== undefined && claims.cid !== clientId) return undefined;
    return {
      org: claims.org,
      scopes: new Set(claims.scopes),
      via: "realtime_token",
      keyId: createHash("sha256").update(body).digest("hex").slice(0, 8),
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
