import { describe, expect, it } from "vitest";
import {
  CANONICAL_PAYLOAD_FIELDS,
  CAPTURE_BUDGET,
  Capture,
  isSecretKey,
  MAX_DEPTH,
  MAX_ENTRIES,
  REDACTED,
  sanitize,
  sanitizeObject,
} from "../src/capture.js";

const full = { mode: "full" as const, maxStringLength: 4096 };

describe("content capture", () => {
  it("cuts long strings with a marker saying how much was cut", () => {
    const out = sanitize({ s: "x".repeat(5000) }, full) as { s: string };
    expect(out.s.startsWith("x".repeat(4096))).toBe(true);
    expect(out.s.endsWith("…[truncated 904 chars]")).toBe(true);
    expect(sanitize("héllo wörld", { mode: "full", maxStringLength: 5 })).toBe(
      "héllo…[truncated 6 chars]",
    );
    // never splits a surrogate pair
    expect(sanitize("a😀b", { mode: "full", maxStringLength: 2 })).toBe("a…[truncated 3 chars]");
  });

  it("always redacts secret-looking keys, at any depth, whatever the value", () => {
    const out = sanitize(
      {
        headers: {
          Authorization: "Bearer abc",
          "x-api-key": "k",
          cookie: "c",
          "Set-Cookie": ["a"],
        },
        password: "hunter2",
        apiKey: "sk-1",
        OPENAI_API_KEY: "sk-2",
        privateKey: { pem: "..." },
        refresh_token: "r",
        clientSecret: "s",
        nested: [{ accessToken: "t" }],
        usage: { inputTokens: 10, outputTokens: 20, total_tokens: 30 },
        maxTokens: 100,
        tokenizer: "cl100k",
      },
      full,
    );
    expect(out).toEqual({
      headers: {
        Authorization: REDACTED,
        "x-api-key": REDACTED,
        cookie: REDACTED,
        "Set-Cookie": REDACTED,
      },
      password: REDACTED,
      apiKey: REDACTED,
      OPENAI_API_KEY: REDACTED,
      privateKey: REDACTED,
      refresh_token: REDACTED,
      clientSecret: REDACTED,
      nested: [{ accessToken: REDACTED }],
      usage: { inputTokens: 10, outputTokens: 20, total_tokens: 30 },
      maxTokens: 100,
      tokenizer: "cl100k",
    });
    expect(isSecretKey("sessionId")).toBe(false);
    expect(isSecretKey("token")).toBe(true);
    expect(isSecretKey("id_token")).toBe(true);
    // "token" only as the last word: a duration named after tokens is not a secret.
    expect(isSecretKey("timeToFirstTokenMs")).toBe(false);
    expect(isSecretKey("token_count")).toBe(false);
    // Spellings of env variables, headers and SDK options: acronyms, no separators, plurals.
    for (const key of [
      "PGPASSWORD",
      "XApiKey",
      "APIToken",
      "ACCESSTOKEN",
      "SESSIONTOKEN",
      "apiKeys",
      "api_keys",
      "SSHPrivateKey",
      "privateKeys",
      "passwords",
      "secrets",
      "SecretKey",
    ])
      expect([key, isSecretKey(key)]).toEqual([key, true]);
    for (const key of ["outputTokens", "tokens", "maxTokens", "primaryKey", "cacheKey", "keys"])
      expect([key, isSecretKey(key)]).toEqual([key, false]);
  });

  it("keeps numbers and booleans under secret-looking keys and never writes absent ones", () => {
    expect(
      sanitizeObject(
        { token: 42, secret: true, password: undefined, auth: null },
        { mode: "full", maxStringLength: 4096 },
      ),
    ).toEqual({
      token: 42,
      secret: true,
      auth: null,
    });
  });

  it('drops prompt and completion text in "metadata" mode, keeping the rest', () => {
    const out = sanitizeObject(
      {
        model: "gpt-x",
        messages: [{ role: "user", content: "secret plan" }],
        output: "the answer",
        usage: { inputTokens: 3 },
        tool: { name: "search", arguments: { q: "x" }, callId: "c1" },
      },
      { mode: "metadata", maxStringLength: 4096 },
    );
    expect(out).toEqual({
      model: "gpt-x",
      usage: { inputTokens: 3 },
      tool: { name: "search", callId: "c1" },
    });
  });

  it("survives circular objects, throwing getters, BigInt, functions, symbols and exotic objects", () => {
    const circular: Record<string, unknown> = { name: "loop" };
    circular.self = circular;
    circular.list = [circular];
    const shared = { v: 1 };
    const hostile = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error("no keys for you");
        },
      },
    );
    const out = sanitize(
      {
        circular,
        twice: [shared, shared],
        getter: Object.defineProperty({}, "x", {
          enumerable: true,
          get() {
            throw new Error("nope");
          },
        }),
        hostile,
        big: 2n ** 70n,
        fn: function named() {},
        sym: Symbol("s"),
        date: new Date("2026-01-02T03:04:05Z"),
        error: Object.assign(new Error("bad"), { code: "E_BAD" }),
        map: new Map([["k", 1]]),
        set: new Set([1, 2]),
        bytes: new Uint8Array(4),
        nan: Number.NaN,
        undef: undefined,
        withToJSON: { toJSON: () => ({ ok: true }) },
      },
      full,
    ) as Record<string, unknown>;
    expect(out.circular).toEqual({ name: "loop", self: "[Circular]", list: ["[Circular]"] });
    expect(out.twice).toEqual([{ v: 1 }, { v: 1 }]);
    expect(out.getter).toEqual({ x: "[Unserializable: nope]" });
    expect(out.hostile).toBe("[Unserializable: no keys for you]");
    expect(out.big).toBe("1180591620717411303424");
    expect(out.fn).toBe("[Function named]");
    expect(out.sym).toBe("Symbol(s)");
    expect(out.date).toBe("2026-01-02T03:04:05.000Z");
    expect(out.error).toMatchObject({ name: "Error", message: "bad", code: "E_BAD" });
    expect(out.map).toEqual({ k: 1 });
    expect(out.set).toEqual([1, 2]);
    expect(out.bytes).toBe("[Uint8Array 4 bytes]");
    expect(out.nan).toBe("NaN");
    expect("undef" in out).toBe(false);
    expect(out.withToJSON).toEqual({ ok: true });
    expect(() => JSON.stringify(out)).not.toThrow();
  });

  it("wraps a non-object payload instead of losing it", () => {
    expect(sanitizeObject("just text", full)).toEqual({ value: "just text" });
    expect(sanitizeObject(undefined, full)).toEqual({});
  });
});

describe("secrets inside JSON text (a tool's result as the framework hands it over)", () => {
  const result = JSON.stringify({
    apiKey: "sk-live-1",
    data: { password: "hunter2", rows: 3 },
    list: [{ Authorization: "Bearer tok" }],
  });
  const redacted = JSON.stringify({
    apiKey: REDACTED,
    data: { password: REDACTED, rows: 3 },
    list: [{ Authorization: REDACTED }],
  });

  it("redacts them on the copy and on emit's path alike, keeping the text a string", () => {
    for (const lean of [false, true]) {
      const out = new Capture(full).object(
        { result, twice: JSON.stringify(result) },
        undefined,
        lean,
      );
      expect(out.result).toBe(redacted);
      expect(out.twice).toBe(JSON.stringify(redacted)); // encoded twice, as some SDKs hand it over
      expect(JSON.stringify(out)).not.toMatch(/sk-live-1|hunter2|Bearer tok/);
    }
  });

  it("redacts them in text cut short or not JSON at all, and leaves text without secrets alone", () => {
    const out = new Capture(full).object({
      cut: result.slice(0, 60),
      cutInside: '{"a":{"token":"abc',
      plain: '{"inputTokens":3,"key":"k1"}',
      prose: "my password is not json",
    });
    expect(out.cut).toBe(
      result.slice(0, 60).replace("sk-live-1", REDACTED).replace("hunter2", REDACTED),
    );
    expect(out.cutInside).toBe('{"a":{"token":"[REDACTED]"');
    expect(out.plain).toBe('{"inputTokens":3,"key":"k1"}');
    expect(out.prose).toBe("my password is not json");
  });

  it("looks into a result of megabytes as far as capture keeps it (its head, not parsed)", () => {
    const huge = JSON.stringify({ password: "hunter2", rows: "r".repeat(5_000_000) });
    const out = new Capture(full).object({ result: huge });
    expect(String(out.result).startsWith('{"password":"[REDACTED]","rows":"rrr')).toBe(true);
    expect(String(out.result)).toMatch(/…\[truncated \d+ chars\]$/);
  });

  it("redacts before cutting, so a long result's first kilobytes show no secret", () => {
    const long = JSON.stringify({ token: "secret-token", body: "x".repeat(10_000) });
    const out = new Capture(full).object({ result: long });
    expect(String(out.result)).not.toContain("secret-token");
    expect(String(out.result).startsWith('{"token":"[REDACTED]","body":"xxx')).toBe(true);
  });
});

describe("objects reached along many paths", () => {
  /** `width` keys per level, `depth` levels, every key of a level holding the same object. */
  const shared = (width: number, depth: number, leaf: unknown): unknown => {
    let node = leaf;
    for (let d = 0; d < depth; d++)
      node = Object.fromEntries(Array.from({ length: width }, (_, i) => [`k${i}`, node]));
    return node;
  };
  const markers = (json: string) => json.split('"…[truncated]"').length - 1;

  it("copies a few kilobytes of shared objects standing for millions of values up to a budget", () => {
    // 8 × 8 × … 7 levels deep over a list of 8 strings: 16 million values to copy, about 200 MB
    // of JSON, from a few hundred objects in memory (a state snapshot sharing one message list).
    const state = shared(8, 7, ["message one", "message two", 3, 4, 5, 6, 7, 8]);
    for (const out of [
      sanitize({ state }, full),
      new Capture(full).object({ state }, undefined, true),
    ]) {
      const json = JSON.stringify(out);
      expect(json.length).toBeLessThan(8 * 2 ** 20);
      expect(markers(json)).toBeGreaterThan(0);
      expect(
        json.startsWith('{"state":{"k0":{"k0":{"k0":{"k0":{"k0":{"k0":{"k0":["message one"'),
      ).toBe(true);
    }
  });

  it("keeps a shared object whole as long as the event could hold it", () => {
    const state = shared(4, 4, { role: "user", content: "hi" }); // 256 paths to one message
    expect(JSON.stringify(new Capture(full).object({ state }))).toBe(JSON.stringify({ state }));
    // almost twice what an event may hold: every field after the big one is still there
    const big = {
      messages: Array.from({ length: 120 }, (_, i) => `${i}`.padEnd(4096, ".")),
      model: "m",
    };
    expect(JSON.stringify(big).length).toBeGreaterThan(2 * 256 * 1024 - 40_000);
    expect(new Capture(full).object(big)).toEqual(big);
    expect(CAPTURE_BUDGET).toBeGreaterThan(2 * 120 * (1 + 4096 / 32));
  });
});

describe("binary data", () => {
  it("describes buffers instead of spelling out their bytes", () => {
    expect(sanitize({ b: Buffer.from("hello") }, full)).toEqual({ b: "[Buffer 5 bytes]" });
  });
});

describe("capture for a caller that serializes at once (emit's path)", () => {
  const capture = () => new Capture(full);
  const lean = (c: Capture, value: unknown, keep?: ReadonlySet<string>) =>
    c.object(value, keep, true);

  it("hands back the caller's own object when capture would change nothing", () => {
    const payload = {
      name: "lookup",
      arguments: { id: "order-1", tags: ["a", "b", null, undefined], n: -0, ok: true },
      usage: { inputTokens: 120, maxTokens: 5, accessToken: null },
      skipped: undefined,
      nested: Object.assign(Object.create(null), { x: 1 }),
    };
    expect(lean(capture(), payload)).toBe(payload);
    // the canonical field a top-level secret-looking key may carry
    const token = { token: "abc" };
    expect(lean(capture(), token, CANONICAL_PAYLOAD_FIELDS.get("llm.token"))).toBe(token);
  });

  it("serializes exactly as the copy does, whatever the input", () => {
    const circular: Record<string, unknown> = { a: 1 };
    circular.self = circular;
    const shared = { s: 1 };
    let deep: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < MAX_DEPTH + 2; i++) deep = { deep };
    const throwing = {
      get boom(): string {
        throw new Error("no");
      },
    };
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    class Point {
      x = 1;
    }
    const arrayWithToJSON = Object.assign([1, 2], { toJSON: () => "custom" });
    const inputs: unknown[] = [
      { s: "x".repeat(5000) },
      { password: "hunter2", apiKey: 12, nested: [{ accessToken: "t" }] },
      { token: "abc" },
      { at: new Date(0), bad: new Date(Number.NaN) },
      { n: Number.NaN, inf: Number.POSITIVE_INFINITY, big: 10n },
      { f: () => 1, sym: Symbol("s") },
      { list: [() => 1, undefined, 3] },
      { holes: new Array(3) }, // holes become null, in the copy and in JSON
      JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}'),
      { decimal: { toJSON: () => "1.50" } },
      { arrayWithToJSON },
      circular,
      { a: shared, b: shared },
      deep,
      throwing,
      { proxy: revoked.proxy },
      { point: new Point() },
      { map: new Map([["k", 1]]), set: new Set([1]) },
      { error: new Error("e") },
      { bytes: new Uint8Array(3) },
      { many: Array.from({ length: MAX_ENTRIES + 1 }, (_, i) => i) },
      Object.fromEntries(Array.from({ length: MAX_ENTRIES + 1 }, (_, i) => [`k${i}`, i])),
      [1, 2],
      "text",
      { lone: "\ud800", quote: '"\\\n' },
      {
        pastTheBudget: Array.from({ length: 600 }, () => Array.from({ length: 600 }, (_, i) => i)),
      },
    ];
    for (const input of inputs) {
      const json = JSON.stringify(lean(capture(), input));
      expect(json, String(json).slice(0, 80)).toBe(JSON.stringify(capture().object(input)));
    }
    const metadataMode = new Capture({ mode: "metadata", maxStringLength: 4096 });
    const withContent = { messages: ["hi"], model: "m" };
    expect(lean(metadataMode, withContent)).toEqual({ model: "m" });
  });
});
