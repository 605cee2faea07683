import { EventSource } from "eventsource";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Authenticator } from "../src/auth.js";
import type { Hub } from "../src/index.js";
import { api, KEY_A, KEY_A_READONLY, KEY_B, ORG_A, startTestHub } from "./helpers.js";

const SECRET = "secret_for_token_tests_0123456789";

/** A page's view of a stream: opened with `?access_token=`, as `EventSource` must. */
function openWithToken(hub: Hub, path: string, token: string) {
  const source = new EventSource(`${hub.url}${path}?access_token=${encodeURIComponent(token)}`);
  const types: string[] = [];
  const opened = new Promise<void>((resolve, reject) => {
    source.addEventListener("chorus.ready", () => resolve());
    source.onerror = (e) => reject(new Error(`stream refused: ${(e as { code?: number }).code}`));
  });
  source.onmessage = (m) => types.push(JSON.parse(m.data).type);
  source.addEventListener("demo.ping", (m) => types.push(JSON.parse(m.data).type));
  return { source, opened, types };
}

async function mint(hub: Hub, body: unknown, key = KEY_A) {
  return api(hub, "/v1/tokens", { key, body });
}

describe("POST /v1/tokens: short-lived, narrowed tokens", () => {
  let hub: Hub;
  beforeAll(async () => {
    hub = await startTestHub({ secret: SECRET });
  });
  afterAll(() => hub.close());

  it("mints a token narrowed to scopes that works as Bearer, with a default life of an hour", async () => {
    const res = await mint(hub, { scopes: ["read", "subscribe"] });
    expect(res.status).toBe(201);
    expect(res.body.token).toMatch(/^cat1\./);
    expect(res.body.scopes).toEqual(["read", "subscribe"]);
    const life = Date.parse(res.body.expiresAt) - Date.now();
    expect(life).toBeGreaterThan(3500_000);
    expect(life).toBeLessThanOrEqual(3600_000);

    const list = await api(hub, "/v1/events", { key: res.body.token });
    expect(list.status).toBe(200);
    // Narrowed: no publish, no intent writes.
    const publish = await api(hub, "/v1/events", {
      key: res.body.token,
      body: { channel: "c", type: "demo.ping" },
    });
    expect(publish.status).toBe(403);
    expect(publish.body.error.message).toContain('lacks the "publish" scope');
  });

  it("is never wider than the key that asked: scopes, channels, lifetime", async () => {
    const wider = await mint(hub, { scopes: ["read", "publish"] }, KEY_A_READONLY);
    expect(wider.status).toBe(403);
    expect(wider.body.error.details.missing).toEqual(["publish"]);

    const narrow = await mint(hub, { scopes: ["read"], channels: ["research"], ttlSeconds: 60 });
    expect(narrow.status).toBe(201);
    const token = narrow.body.token as string;
    // A token may mint a narrower token, never a wider one.
    expect((await mint(hub, { scopes: ["subscribe"] }, token)).status).toBe(403);
    expect((await mint(hub, { scopes: ["read"], channels: ["ops"] }, token)).status).toBe(403);
    const child = await mint(hub, { scopes: ["read"], ttlSeconds: 3600 }, token);
    expect(child.status).toBe(201);
    expect(child.body.channels).toEqual(["research"]);
    expect(Date.parse(child.body.expiresAt)).toBeLessThanOrEqual(Date.parse(narrow.body.expiresAt));
  });

  it("bounds the lifetime and refuses bad requests with 400", async () => {
    for (const body of [
      { scopes: ["read"], ttlSeconds: 24 * 3600 + 1 },
      { scopes: ["read"], ttlSeconds: 1 },
      { scopes: [] },
      { scopes: ["root"] },
      { scopes: ["read"], channels: [] },
      { scopes: ["read"], extra: 1 },
      {},
    ]) {
      const res = await mint(hub, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe("validation_failed");
    }
    expect((await mint(hub, { scopes: ["read"] }, "not_a_key_0123456789")).status).toBe(401);
  });

  it("is org-scoped: another org's data stays out of reach", async () => {
    const b = await api(hub, "/v1/events", {
      key: KEY_B,
      body: { channel: "secret", type: "demo.ping" },
    });
    expect(b.status).toBe(202);
    const { body } = await mint(hub, { scopes: ["read"] });
    const list = await api(hub, "/v1/events?channel=secret", { key: body.token });
    expect(list.body.data).toEqual([]);
  });

  it("enforces channel narrowing on lists, streams, publishing and intent routes (403)", async () => {
    const { body } = await mint(hub, {
      scopes: ["read", "subscribe", "publish"],
      channels: ["research"],
    });
    const t = body.token as string;
    expect((await api(hub, "/v1/events?channel=research", { key: t })).status).toBe(200);
    expect((await api(hub, "/v1/events?channel=ops", { key: t })).status).toBe(403);
    expect((await api(hub, "/v1/events", { key: t })).status).toBe(403);
    const ok = await api(hub, "/v1/events", { key: t, body: { channel: "research", type: "x.y" } });
    expect(ok.status).toBe(202);
    const no = await api(hub, "/v1/events", { key: t, body: { channel: "ops", type: "x.y" } });
    expect(no.status).toBe(403);
    // An event on an intent joins the intent's log, streams and assignees: not this token's.
    const created = await api(hub, "/v1/intents", { body: { title: "secret plan" } });
    const onIntent = await api(hub, "/v1/events", {
      key: t,
      body: { channel: "research", type: "intent.comment", intentId: created.body.id },
    });
    expect(onIntent.status).toBe(403);
    expect(onIntent.body.error.message).toContain("cannot publish events on an intent");
    const log = await api(hub, `/v1/intents/${created.body.id}/events`);
    expect(log.body.data.map((e: { type: string }) => e.type)).toEqual(["intent.created"]);
    expect((await api(hub, "/v1/intents", { key: t })).status).toBe(403);
    expect((await api(hub, "/v1/agents/a/stream", { key: t })).status).toBe(403);

    const ops = openWithToken(hub, "/v1/channels/ops/stream", t);
    await expect(ops.opened).rejects.toThrow("403");
    ops.source.close();
  });

  it("is accepted as ?access_token= on an SSE stream, which then carries the channel's events", async () => {
    const { body } = await mint(hub, { scopes: ["subscribe"], channels: ["research"] });
    const stream = openWithToken(hub, "/v1/channels/research/stream", body.token);
    await stream.opened;
    await api(hub, "/v1/events", { body: { channel: "research", type: "demo.ping" } });
    await expect.poll(() => stream.types).toEqual(["demo.ping"]);
    stream.source.close();

    const read = await mint(hub, { scopes: ["read"] });
    const list = await api(hub, `/v1/events?channel=research&access_token=${read.body.token}`, {
      key: null,
    });
    expect(list.status).toBe(200);
    expect(list.body.data.map((e: { type: string }) => e.type)).toContain("demo.ping");
  });

  it("refuses ?access_token= on writes, an API key in access_token, and both credentials at once", async () => {
    const { body } = await mint(hub, { scopes: ["publish", "read"] });
    const write = await api(hub, `/v1/events?access_token=${body.token}`, {
      key: null,
      body: { channel: "c", type: "x.y" },
    });
    expect(write.status).toBe(400);
    expect(write.body.error.message).toContain("GET and SSE routes only");

    const keyInUrl = await api(hub, `/v1/events?access_token=${KEY_A}`, { key: null });
    expect(keyInUrl.status).toBe(401);
    expect(keyInUrl.body.error.message).toContain("never an API key");

    const both = await api(hub, `/v1/events?access_token=${body.token}`);
    expect(both.status).toBe(400);
  });

  it("answers 401 for an expired token and for one signed by another secret", async () => {
    const signer = new Authenticator([{ org: ORG_A, key: KEY_A }], SECRET);
    const principal = signer.authenticateKey(KEY_A);
    if (!principal) throw new Error("unreachable");
    const expired = signer.issueAccessToken(principal, { scopes: ["read"], ttlMs: -1000 });
    const res = await api(hub, "/v1/events", { key: expired.token });
    expect(res.status).toBe(401);
    expect(res.body.error.message).toContain("expired");
    const stream = openWithToken(hub, "/v1/channels/c/stream", expired.token);
    await expect(stream.opened).rejects.toThrow("401");
    stream.source.close();

    const forged = new Authenticator([{ org: ORG_A, key: KEY_A }], "another_secret_0123456789");
    const p2 = forged.authenticateKey(KEY_A);
    if (!p2) throw new Error("unreachable");
    const other = forged.issueAccessToken(p2, { scopes: ["read"], ttlMs: 60_000 });
    expect((await api(hub, "/v1/events", { key: other.token })).status).toBe(401);
    // A realtime token (MQTT password) is not an HTTP credential.
    const rt = await api(hub, "/v1/realtime/credentials", { body: {} });
    expect((await api(hub, "/v1/events", { key: rt.body.password })).status).toBe(401);
  });
});

describe("a token lives no longer and no wider than its key", () => {
  it("dies with its key and loses the scopes its key no longer grants, on every hub of the secret", async () => {
    const hub = await startTestHub({ secret: SECRET });
    const { body } = await mint(hub, { scopes: ["read", "publish"] });
    await hub.close();
    // The same secret (hubs sharing it, or a restart) with acme's key removed: the token is dead.
    const removed = await startTestHub({ secret: SECRET, apiKeys: `globex:${KEY_B}` });
    try {
      const res = await api(removed, "/v1/events", { key: body.token });
      expect(res.status).toBe(401);
      const stream = openWithToken(removed, "/v1/channels/c/stream", body.token);
      await expect(stream.opened).rejects.toThrow("401");
      stream.source.close();
    } finally {
      await removed.close();
    }
    // The key narrowed to reading: the token reads, and publishes no more.
    const narrowed = await startTestHub({ secret: SECRET, apiKeys: `acme:${KEY_A}:read` });
    try {
      expect((await api(narrowed, "/v1/events", { key: body.token })).status).toBe(200);
      const publish = await api(narrowed, "/v1/events", {
        key: body.token,
        body: { channel: "c", type: "x.y" },
      });
      expect(publish.status).toBe(403);
    } finally {
      await narrowed.close();
    }
  });

  it("has one spelling: a signature with characters added or changed is refused", async () => {
    const hub = await startTestHub({ secret: SECRET });
    try {
      const { body } = await mint(hub, { scopes: ["read"] });
      const token = body.token as string;
      expect((await api(hub, "/v1/events", { key: token })).status).toBe(200);
      // The last base64url character of a 32-byte MAC carries 2 unused bits: a decoder that
      // ignores them (and trailing junk) would take these as the same signature.
      const last = token.at(-1) as string;
      const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
      const sameBits =
        alphabet[(alphabet.indexOf(last) & ~0b11) | ((alphabet.indexOf(last) + 1) & 0b11)];
      for (const spelling of [`${token}=`, `${token}!!`, `${token.slice(0, -1)}${sameBits}`]) {
        expect((await api(hub, "/v1/events", { key: spelling })).status).toBe(401);
      }
      const rt = await api(hub, "/v1/realtime/credentials", { body: {} });
      const auth = new Authenticator([{ org: ORG_A, key: KEY_A }], SECRET);
      expect(auth.verifyToken(rt.body.password)).toBeDefined();
      expect(auth.verifyToken(`${rt.body.password}=`)).toBeUndefined();
    } finally {
      await hub.close();
    }
  });

  it("realtime credentials asked for with a token end when the token does", async () => {
    const hub = await startTestHub({ secret: SECRET });
    try {
      const { body } = await mint(hub, { scopes: ["subscribe"], ttlSeconds: 60 });
      const res = await api(hub, "/v1/realtime/credentials", { key: body.token, body: {} });
      expect(res.status).toBe(200);
      expect(Date.parse(res.body.expiresAt)).toBeLessThanOrEqual(Date.parse(body.expiresAt));
    } finally {
      await hub.close();
    }
  });

  it("…even when the clock ticks between the hub's reads of it", async () => {
    // The ttl was read off the token's expiry, then added to a later `Date.now()`: a
    // millisecond between the two made credentials that outlived the token by it.
    const hub = await startTestHub({ secret: SECRET });
    try {
      const { body } = await mint(hub, { scopes: ["subscribe"], ttlSeconds: 60 });
      const now = Date.now.bind(Date);
      let tick = 0;
      const clock = vi.spyOn(Date, "now").mockImplementation(() => now() + tick++);
      let res: Awaited<ReturnType<typeof api>>;
      try {
        res = await api(hub, "/v1/realtime/credentials", { key: body.token, body: {} });
      } finally {
        clock.mockRestore();
      }
      expect(res.status).toBe(200);
      expect(Date.parse(res.body.expiresAt)).toBeLessThanOrEqual(Date.parse(body.expiresAt));
    } finally {
      await hub.close();
    }
  });
});

describe("tokens never reach a log line", () => {
  it("redacts ?access_token= from every line the hub writes, at debug level", async () => {
    const lines: string[] = [];
    const capture = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
      lines.push(JSON.stringify({ level, msg, ...fields }));
    const hub = await startTestHub({
      logger: {
        debug: capture("debug"),
        info: capture("info"),
        warn: capture("warn"),
        error: capture("error"),
      },
      logLevel: "debug",
    });
    try {
      const { body } = await mint(hub, { scopes: ["read", "subscribe"] });
      const token = body.token as string;
      await api(hub, `/v1/events?access_token=${token}`, { key: null });
      await api(hub, `/v1/nope?access_token=${token}`, { key: null });
      await api(hub, `/v1/events?channel=%00&access_token=${token}`, { key: null });
      await api(hub, `/v1/events?access_token=${token}`, { key: null, body: { x: 1 } });
      await api(hub, `/v1/events?access_token=${KEY_A}`, { key: null });
      const stream = openWithToken(hub, "/v1/channels/c/stream", token);
      await stream.opened;
      stream.source.close();
    } finally {
      await hub.close();
    }
    expect(lines.length).toBeGreaterThan(0);
    const all = lines.join("\n");
    expect(all).not.toContain("cat1.");
    expect(all).not.toContain(KEY_A);
  });

  it("redacts tokens a message or field quotes, whatever logged it", async () => {
    const { redactingLogger } = await import("../src/logger.js");
    const seen: unknown[] = [];
    const log = redactingLogger({
      debug: () => {},
      info: (msg, fields) => seen.push(msg, fields),
      warn: () => {},
      error: () => {},
    });
    log.info("GET /v1/channels/c/stream?types=a&access_token=cat1.abc.def", {
      url: "/x?access_token=whatever&y=1",
      error: new Error("bad token cat1.eyJ.sig"),
      nested: { header: "Bearer cat1.eyJvcmci.c2ln" },
    });
    const text = JSON.stringify(seen);
    expect(text).not.toMatch(/cat1\.(abc|eyJ)/);
    expect(text).not.toContain("whatever");
    expect(text).toContain("access_token=[redacted]&y=1");
  });
});
