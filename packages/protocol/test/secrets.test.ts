import { describe, expect, it } from "vitest";
import { isSecretKey, REDACTED, redactSecrets } from "../src/index.js";

describe("redactSecrets", () => {
  it("redacts the values of secret-looking keys at any depth, and keeps counts and flags", () => {
    const input = {
      apiKey: "sk-1",
      nested: [{ headers: { Authorization: "Bearer x", "x-api-key": "k" } }],
      password: { old: "a", new: "b" },
      inputTokens: 12, // a count: not a secret key at all
      accessToken: null,
      refresh_token: 42, // numbers, booleans and null are kept even under a secret key
      ok: true,
      text: "my password is not a key",
    };
    expect(redactSecrets(input)).toEqual({
      apiKey: REDACTED,
      nested: [{ headers: { Authorization: REDACTED, "x-api-key": REDACTED } }],
      password: REDACTED,
      inputTokens: 12,
      accessToken: null,
      refresh_token: 42,
      ok: true,
      text: "my password is not a key",
    });
    expect(input.apiKey).toBe("sk-1"); // a copy: the input is left as it was
  });

  it("redacts inside JSON text (a tool result passed on as a string), and leaves other text", () => {
    const text = JSON.stringify({ token: "t-1", rows: [{ secret: "s" }], n: 1 });
    expect(JSON.parse(redactSecrets(text) as string)).toEqual({
      token: REDACTED,
      rows: [{ secret: REDACTED }],
      n: 1,
    });
    for (const plain of ['{"token": cut sho', "token: abc", '"token"', "[1,2]"])
      expect(redactSecrets(plain)).toBe(plain);
  });

  it("keeps an own __proto__ key as a key, not as the copy's prototype", () => {
    const input = JSON.parse('{"__proto__":{"password":"p"},"a":1}');
    const out = redactSecrets(input) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(["__proto__", "a"]);
    expect(JSON.stringify(out)).toBe('{"__proto__":{"password":"[REDACTED]"},"a":1}');
  });

  it("is the key rule the client's capture uses", () => {
    expect(isSecretKey("timeToFirstTokenMs")).toBe(false);
    expect(isSecretKey("APIToken")).toBe(true);
    expect(isSecretKey("sshPrivateKey")).toBe(true);
  });
});
