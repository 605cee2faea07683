import { describe, expect, it } from "vitest";
import { parseApiKeys } from "../src/auth.js";
import { parseDuration, resolveHubConfig } from "../src/config.js";

describe("hub configuration", () => {
  it("parses keys with optional scopes and refuses malformed or short ones", () => {
    expect(
      parseApiKeys("acme:key_acme_0123456789, globex:key_globex_012345:read+subscribe"),
    ).toEqual([
      { org: "acme", key: "key_acme_0123456789" },
      { org: "globex", key: "key_globex_012345", scopes: ["read", "subscribe"] },
    ]);
    expect(() => parseApiKeys("acme:short")).toThrow(/too short \(at least 16/);
    expect(() => parseApiKeys("acme")).toThrow(/org:key/);
    expect(() => parseApiKeys("a/b:key_acme_0123456789")).toThrow(/invalid org/);
    expect(() => parseApiKeys("acme:key_acme_0123456789:root")).toThrow(/unknown scope "root"/);
  });

  it("refuses to listen beyond loopback without keys, and creates a dev key on loopback", () => {
    expect(() => resolveHubConfig({ host: "0.0.0.0" }, {})).toThrow(
      /refusing to listen on 0\.0\.0\.0/,
    );
    const dev = resolveHubConfig({}, {});
    expect(dev.devKey).toMatch(/^dev_[A-Za-z0-9_-]{24}$/);
    expect(dev.apiKeys).toEqual([{ org: "dev", key: dev.devKey }]);
  });

  it("reads every option from CHORUS_* variables, explicit options winning", () => {
    const env = {
      CHORUS_PORT: "9000",
      CHORUS_HOST: "0.0.0.0",
      CHORUS_MQTT_PORT: "off",
      CHORUS_DB: ":memory:",
      CHORUS_RETENTION: "12h",
      CHORUS_API_KEYS: "acme:key_acme_0123456789",
      CHORUS_RATE_LIMIT: "600/s",
      CHORUS_LOG_LEVEL: "warn",
      CHORUS_PRESENCE_LEASE: "30s",
    };
    expect(resolveHubConfig({}, env)).toMatchObject({
      port: 9000,
      host: "0.0.0.0",
      mqttPort: false,
      db: ":memory:",
      retentionMs: 12 * 3_600_000,
      devKey: undefined,
      rateLimit: { max: 600, windowMs: 1000 },
      logLevel: "warn",
      presenceLeaseMs: 30_000,
    });
    expect(resolveHubConfig({ port: 1, rateLimit: false }, env)).toMatchObject({
      port: 1,
      rateLimit: undefined,
    });
    expect(resolveHubConfig({ db: ":memory:" }, {}).presenceLeaseMs).toBe(15_000);
    expect(() => resolveHubConfig({ db: ":memory:", presenceLease: "500ms" }, {})).toThrow(
      /CHORUS_PRESENCE_LEASE must be at least 1s/,
    );
    expect(() => resolveHubConfig({}, { CHORUS_PORT: "http" })).toThrow(
      /CHORUS_PORT must be a port/,
    );
    expect(parseDuration("7d")).toBe(604_800_000);
    expect(() => parseDuration("soon")).toThrow(/invalid duration/);
  });

  it("refuses a duration without a unit instead of reading it as milliseconds", () => {
    for (const bad of ["7", "0d", "", "7 days", "-1h", "1y"]) {
      expect(() => parseDuration(bad), bad).toThrow(/invalid duration/);
    }
    expect(() => resolveHubConfig({ db: ":memory:" }, { CHORUS_RETENTION: "7" })).toThrow(
      /ms, s, m, h, d, w/,
    );
    expect(parseDuration("30m")).toBe(1_800_000);
    expect(parseDuration("1.5h")).toBe(5_400_000);
    expect(parseDuration(250)).toBe(250);
  });
  it("takes an external broker URL with an MQTT or WebSocket scheme only", () => {
    const config = resolveHubConfig(
      { db: ":memory:" },
      { CHORUS_MQTT_URL: "mqtt://admin:secret@broker:1883", CHORUS_MQTT_WS_URL: "wss://b/mqtt" },
    );
    expect(config.mqttUrl?.hostname).toBe("broker");
    expect(config.mqttWsUrl?.protocol).toBe("wss:");
    expect(resolveHubConfig({ db: ":memory:" }, {}).mqttUrl).toBeUndefined();
    expect(() => resolveHubConfig({ db: ":memory:", mqttUrl: "http://broker" })).toThrow(
      /CHORUS_MQTT_URL must use mqtt:/,
    );
    expect(() => resolveHubConfig({ db: ":memory:", mqttUrl: "broker:1883" })).toThrow(
      /CHORUS_MQTT_URL/,
    );
    expect(() => resolveHubConfig({ db: ":memory:", mqttWsUrl: "mqtt://b" })).toThrow(
      /CHORUS_MQTT_WS_URL must use ws:/,
    );
  });
  it("names the variable (or option) a bad value came from", () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ CHORUS_PRESENCE_LEASE: "soon" }, /^CHORUS_PRESENCE_LEASE: /],
      [{ CHORUS_RETENTION: "7" }, /^CHORUS_RETENTION: /],
      [{ CHORUS_RATE_LIMIT: "lots" }, /^CHORUS_RATE_LIMIT: /],
      [{ CHORUS_AUTH_FAILURE_LIMIT: "-1/m" }, /^CHORUS_AUTH_FAILURE_LIMIT: /],
      [{ CHORUS_TRUST_PROXY: "10.0.0.1/99" }, /^CHORUS_TRUST_PROXY: /],
      [{ CHORUS_CORS_ORIGINS: "example.com" }, /^CHORUS_CORS_ORIGINS: /],
      [{ CHORUS_SEND_BUFFER_BYTES: "1MB" }, /^CHORUS_SEND_BUFFER_BYTES must be a positive/],
      [{ CHORUS_WRITE_TIMEOUT_MS: "0" }, /^CHORUS_WRITE_TIMEOUT_MS must be a positive/],
      [{ CHORUS_MAX_STREAMS_PER_KEY: "2.5" }, /^CHORUS_MAX_STREAMS_PER_KEY must be/],
      [{ CHORUS_REPLAY_CACHE_BYTES: "-1" }, /^CHORUS_REPLAY_CACHE_BYTES must be a non-negative/],
    ];
    for (const [env, message] of cases)
      expect(() => resolveHubConfig({ db: ":memory:" }, env)).toThrow(message);
    // Given as an option, the option is named instead.
    expect(() => resolveHubConfig({ db: ":memory:", rateLimit: "lots" }, {})).toThrow(
      /^rateLimit: /,
    );
    expect(() =>
      resolveHubConfig({ db: ":memory:", delivery: { sendBufferBytes: 0 } }, {}),
    ).toThrow(/^sendBufferBytes must be a positive integer, got 0/);
  });

  it("never echoes a broker URL's credentials in its error", () => {
    for (const raw of ["mqtt://admin:s3cr3t@broker:99999", "mqtt://admin:s3cr3t@broker host"]) {
      let message = "";
      try {
        resolveHubConfig({ db: ":memory:" }, { CHORUS_MQTT_URL: raw });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(/CHORUS_MQTT_URL must be a URL/);
      expect(message).toContain('"mqtt://***@broker');
      expect(message).not.toContain("s3cr3t");
    }
  });
});
