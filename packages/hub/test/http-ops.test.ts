import { request } from "node:http";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveHubConfig } from "../src/config.js";
import type { Hub, HubLogger } from "../src/index.js";
import { api, KEY_A, KEY_A_READONLY, KEY_B, ORG_A, startTestHub } from "./helpers.js";

function capturingLogger(lines: string[]): HubLogger {
  const write = (level: string) => (msg: string, fields?: Record<string, unknown>) => {
    lines.push(JSON.stringify({ level, msg, ...fields }));
  };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}

describe("health, readiness, metrics", () => {
  let hub: Hub;
  beforeAll(async () => {
    hub = await startTestHub();
  });
  afterAll(() => hub.close());

  it("answers probes and scrapes without a key", async () => {
    expect(await api(hub, "/healthz", { key: null })).toMatchObject({
      status: 200,
      body: { status: "ok" },
    });
    expect(await api(hub, "/readyz", { key: null })).toMatchObject({
      status: 200,
      body: { status: "ready" },
    });
    const metrics = await api(hub, "/metrics", { key: null });
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(metrics.body).toContain("chorus_http_requests_total");
    expect(metrics.body).toContain('route="/healthz"');
  });

  it("labels requests by route pattern, not by raw URL", async () => {
    await api(hub, "/v1/intents/some-id-1");
    await api(hub, "/v1/intents/some-id-2");
    await api(hub, "/v1/intents/whatever/nope");
    const text = (await api(hub, "/metrics", { key: null })).body as string;
    expect(text).toContain('route="/v1/intents/:id",status="404"');
    expect(text).toContain('route="unmatched"');
    expect(text).not.toContain("some-id-1");
  });
});

describe("POST /v1/realtime/credentials", () => {
  it("names the host the client called when the hub is bound to every interface", async () => {
    const wide = await startTestHub({ host: "0.0.0.0" });
    try {
      const url = `http://127.0.0.1:${wide.httpPort}/v1/realtime/credentials`;
      const res = await fetch(url, {
        method: "POST",
        headers: { authorization: `Bearer ${KEY_A}` },
      });
      const body = (await res.json()) as { url: string; wsUrl: string };
      expect(body.url).toBe(`mqtt://127.0.0.1:${wide.mqttPort}`);
      expect(body.wsUrl).toBe(`ws://127.0.0.1:${wide.httpPort}/mqtt`);
    } finally {
      await wide.close();
    }
  });

  it("names wss:// under the public URL the hub is reached by, behind TLS", async () => {
    const behindTls = await startTestHub({ publicUrl: "https://chorus.example.com/base/" });
    try {
      const res = await api(behindTls, "/v1/realtime/credentials", { method: "POST" });
      expect(res.body.wsUrl).toBe("wss://chorus.example.com/base/mqtt");
      expect(res.body.url).toBe(`mqtt://chorus.example.com:${behindTls.mqttPort}`);
    } finally {
      await behindTls.close();
    }
    expect(() => resolveHubConfig({ publicUrl: "chorus.example.com" })).toThrow(
      "CHORUS_PUBLIC_URL",
    );
    expect(
      resolveHubConfig({}, { CHORUS_PUBLIC_URL: "http://10.0.0.5:8080" }).publicUrl?.host,
    ).toBe("10.0.0.5:8080");
  });

  it("otherwise names the host and port the request came in on (its Host header)", async () => {
    const body = await new Promise<{ wsUrl: string }>((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port: hub.httpPort,
          path: "/v1/realtime/credentials",
          method: "POST",
          headers: { host: "chorus.internal:8080", authorization: `Bearer ${KEY_A}` },
        },
        (res) => {
          let text = "";
          res.on("data", (c) => {
            text += c;
          });
          res.on("end", () => resolve(JSON.parse(text)));
        },
      );
      req.on("error", reject);
      req.end();
    });
    expect(body.wsUrl).toBe("ws://chorus.internal:8080/mqtt");
  });

  let hub: Hub;
  beforeAll(async () => {
    hub = await startTestHub({ realtimeTtlSeconds: 600 });
  });
  afterAll(() => hub.close());

  it("issues short-lived MQTT credentials scoped to the org", async () => {
    const res = await api(hub, "/v1/realtime/credentials", { method: "POST" });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      url: hub.mqttUrl,
      wsUrl: hub.wsUrl,
      username: ORG_A,
      password: expect.stringMatching(/^crt1\./),
      clientId: expect.stringMatching(/^chorus-[0-9a-f]{16}$/),
      topicPrefix: `chorus/${ORG_A}/`,
      expiresAt: expect.any(String),
    });
    const ttl = Date.parse(res.body.expiresAt) - Date.now();
    expect(ttl).toBeGreaterThan(500_000);
    expect(ttl).toBeLessThanOrEqual(600_000);
    expect(JSON.stringify(res.body)).not.toContain(KEY_A);
  });

  it("honours a requested client id and a shorter ttl, capped by the hub", async () => {
    const res = await api(hub, "/v1/realtime/credentials", {
      body: { clientId: "my-ui", ttlSeconds: 60 },
    });
    expect(res.body.clientId).toBe("my-ui");
    expect(Date.parse(res.body.expiresAt) - Date.now()).toBeLessThanOrEqual(60_000);
    const capped = await api(hub, "/v1/realtime/credentials", { body: { ttlSeconds: 86_400 } });
    expect(Date.parse(capped.body.expiresAt) - Date.now()).toBeLessThanOrEqual(600_000);
  });

  it("needs the subscribe scope, which a read+subscribe key has", async () => {
    expect(
      (await api(hub, "/v1/realtime/credentials", { method: "POST", key: KEY_A_READONLY })).status,
    ).toBe(200);
  });

  it("gives credentials the broker accepts over WebSocket", async () => {
    const creds = (await api(hub, "/v1/realtime/credentials", { method: "POST", key: KEY_B })).body;
    const client = await mqtt.connectAsync(creds.wsUrl, {
      username: creds.username,
      password: creds.password,
      clientId: creds.clientId,
      reconnectPeriod: 0,
    });
    expect(client.connected).toBe(true);
    await client.endAsync();
  });

  it("omits the mqtt:// url when the TCP listener is off", async () => {
    const wsOnly = await startTestHub({ mqttPort: false });
    try {
      const res = await api(wsOnly, "/v1/realtime/credentials", { method: "POST" });
      expect(res.status).toBe(200);
      expect(res.body.url).toBeUndefined();
      expect(res.body.wsUrl).toBe(wsOnly.wsUrl);
    } finally {
      await wsOnly.close();
    }
  });
});

describe("logging", () => {
  it("never writes an API key to the log, whatever the request", async () => {
    const lines: string[] = [];
    const hub = await startTestHub({ logger: capturingLogger(lines), logLevel: "debug" });
    try {
      await api(hub, "/v1/events", { body: { channel: "c", type: "x" } });
      await api(hub, "/v1/events", { key: `${KEY_A}x` });
      await api(hub, "/v1/events", { key: null, headers: { authorization: KEY_A } });
      await api(hub, "/v1/events", { key: KEY_A_READONLY, body: { channel: "c", type: "x" } });
      await api(hub, "/v1/events", { body: "{broken" });
      await api(hub, `/v1/intents/${KEY_A}`);
      await api(hub, "/v1/realtime/credentials", { method: "POST" });
      const stream = new AbortController();
      const res = await fetch(`${hub.url}/v1/channels/c/stream`, {
        headers: { authorization: `Bearer ${KEY_A}` },
        signal: stream.signal,
      });
      expect(res.status).toBe(200);
      stream.abort();
    } finally {
      await hub.close();
    }
    const log = lines.join("\n");
    expect(lines.length).toBeGreaterThan(0);
    // The intent lookup above put the key in a URL; only the route pattern may be logged.
    expect(log).not.toContain(KEY_A);
    expect(log).not.toContain(KEY_A_READONLY);
    expect(log).toContain("keyId");
  });
});
