import type { RealtimeCredentials } from "@chorus/protocol";
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from "vitest";
import { resolveHubConfig } from "../src/config.js";
import type { Hub } from "../src/index.js";
import { haveMosquitto, type PlainMosquitto, startPlainMosquitto } from "./external-broker.js";
import { api, KEY_A, KEY_A_READONLY, startTestHub } from "./helpers.js";
import { collect, connectMqtt } from "./mqtt-helpers.js";

// A hub in hooks mode (CHORUS_MQTT_AUTH=hooks), its hook routes called exactly as EMQX 5 and
// VerneMQ call them (their documented request bodies and headers). The broker under the hub is
// a real Mosquitto that lets anyone in, so the hub's own connection (publish, shared ingest
// subscription) is real too.

const HOOK_SECRET = "hook-secret-for-tests-0123";
const SECRET = "chorus-secret-for-tests-0123";

let broker: PlainMosquitto;
let hub: Hub;
beforeAll(async () => {
  if (!haveMosquitto) return;
  broker = await startPlainMosquitto();
  hub = await startTestHub({
    mqttUrl: broker.url,
    mqttPort: false,
    mqttAuth: "hooks",
    mqttHookSecret: HOOK_SECRET,
    secret: SECRET,
  });
}, 30_000);
afterAll(async () => {
  await hub?.close();
  await broker?.close();
});
afterEach(() => {
  vi.useRealTimers();
});

async function credentials(body: object = {}, key = KEY_A): Promise<RealtimeCredentials> {
  const res = await api(hub, "/v1/realtime/credentials", { key, body });
  expect(res.status).toBe(200);
  return res.body as RealtimeCredentials;
}

/** A POST the way the broker sends it: JSON body, the hook secret as configured. */
async function hook(
  path: string,
  body: unknown,
  headers: Record<string, string> = { authorization: `Bearer ${HOOK_SECRET}` },
) {
  return api(hub, path, { key: null, body, headers });
}

/** EMQX 5 HTTP authentication, body template `{username, password, clientid}`. */
const emqxAuthn = (username: string, password: string, clientid: string) =>
  hook("/v1/mqtt/hooks/emqx/authn", { username, password, clientid });
/** EMQX 5 HTTP authorization, body template `{username, clientid, action, topic}`. */
const emqxAuthz = async (username: string, action: string, topic: string) =>
  (await hook("/v1/mqtt/hooks/emqx/authz", { username, clientid: "c1", action, topic })).body
    .result;

/** VerneMQ webhook: POST with the `vernemq-hook` header, secret in the endpoint URL. */
const vernemq = (name: string, body: object, token = HOOK_SECRET) =>
  hook(`/v1/mqtt/hooks/vernemq?token=${token}`, body, { "vernemq-hook": name });

describe.runIf(haveMosquitto)("broker HTTP hooks (CHORUS_MQTT_AUTH=hooks)", () => {
  test("realtime credentials are a username stating org, rights and expiry, and a token vouching for it", async () => {
    const c = await credentials({ clientId: "agent-1" });
    expect(c.url).toBe(broker.url);
    const seconds = Math.floor(Date.parse(c.expiresAt) / 1000);
    expect(c.username).toBe(`chorus/sp/${seconds}/acme`);
    expect(c.password).toMatch(/^crt1\./);
    expect(c.topicPrefix).toBe("chorus/acme/");
    const ro = await credentials({}, KEY_A_READONLY);
    expect(ro.username).toMatch(/^chorus\/s\/\d+\/acme$/);
  });

  test("the hub's own broker connection works: stored events reach subscribers on the broker", async () => {
    const sub = await connectMqtt(broker.url, "anything");
    const inbox = collect(sub);
    await sub.subscribeAsync("chorus/acme/#");
    const res = await api(hub, "/v1/events", { body: { channel: "hooks", type: "note" } });
    expect(res.status).toBe(202);
    const [got] = await inbox.next(1);
    expect(got?.topic).toBe("chorus/acme/default/hooks/_/note/_");
    // A publish on chorus-in reaches the hub through its shared subscription and is stored.
    await sub.publishAsync(
      "chorus-in/acme",
      JSON.stringify({ channel: "hooks-in", type: "note", payload: { via: "broker" } }),
      { qos: 1 },
    );
    const deadline = Date.now() + 10_000;
    let stored: unknown[] = [];
    while (stored.length === 0 && Date.now() < deadline) {
      stored = (await api(hub, "/v1/events?channel=hooks-in")).body.data;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(stored).toHaveLength(1);
    await sub.endAsync();
  }, 20_000);

  describe("EMQX 5", () => {
    test("authentication: the credentials for their own client id are allowed, never as superuser", async () => {
      const c = await credentials({ clientId: "emqx-1" });
      const res = await emqxAuthn(c.username, c.password, "emqx-1");
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/application\/json/);
      expect(res.body).toEqual({
        result: "allow",
        is_superuser: false,
        expire_at: Math.floor(Date.parse(c.expiresAt) / 1000),
      });
      // The hubs' own connection.
      expect((await emqxAuthn("chorus-hub", HOOK_SECRET, "chorus-hub-1")).body).toEqual({
        result: "allow",
        is_superuser: false,
      });
    });

    test("authentication: another client id, a widened username, another org's name, a wrong password are denied", async () => {
      const c = await credentials({ clientId: "emqx-2", scopes: ["subscribe"] });
      const deny = { result: "deny" };
      expect((await emqxAuthn(c.username, c.password, "someone-else")).body).toEqual(deny);
      const widened = c.username.replace("chorus/s/", "chorus/sp/");
      expect((await emqxAuthn(widened, c.password, "emqx-2")).body).toEqual(deny);
      const otherOrg = c.username.replace(/acme$/, "globex");
      expect((await emqxAuthn(otherOrg, c.password, "emqx-2")).body).toEqual(deny);
      expect((await emqxAuthn(c.username, KEY_A, "emqx-2")).body).toEqual(deny);
      expect((await emqxAuthn(c.username, "", "emqx-2")).body).toEqual(deny);
      expect((await emqxAuthn("chorus-hub", "not-the-hook-secret", "h")).body).toEqual(deny);
      expect((await emqxAuthn("chorus-hub", c.password, "emqx-2")).body).toEqual(deny);
    });

    test("authentication: an expired token is denied", async () => {
      const c = await credentials({ clientId: "emqx-3", ttlSeconds: 60 });
      vi.useFakeTimers({ toFake: ["Date"] });
      vi.setSystemTime(Date.now() + 61_000);
      expect((await emqxAuthn(c.username, c.password, "emqx-3")).body).toEqual({ result: "deny" });
      // And the ACL hook refuses what the username allowed, past its expiry.
      expect(await emqxAuthz(c.username, "subscribe", "chorus/acme/#")).toBe("deny");
    });

    test("authorization: the org's canonical topics to read, its ingest topics to write, nothing else", async () => {
      const { username } = await credentials();
      const allowed = [
        ["subscribe", "chorus/acme/#"],
        ["subscribe", "chorus/acme/default/+/_/note/_"],
        ["publish", "chorus-in/acme"],
        ["publish", "chorus-in/acme/default/ch/_/note/_"],
      ];
      for (const [action, topic] of allowed) {
        expect([
          action,
          topic,
          await emqxAuthz(username, action as string, topic as string),
        ]).toEqual([action, topic, "allow"]);
      }
      const denied = [
        ["subscribe", "chorus/globex/#"],
        ["subscribe", "#"],
        ["subscribe", "+/acme/#"],
        ["subscribe", "chorus/+/#"],
        ["subscribe", "chorus/#"],
        ["subscribe", "chorus-in/acme/#"],
        ["subscribe", "$share/g/chorus/acme/#"],
        ["subscribe", "$share/chorus-hubs/chorus-in/#"],
        ["subscribe", "$SYS/#"],
        ["subscribe", "chorus/acme%2F..%2Fglobex/#"],
        ["publish", "chorus-in/globex"],
        ["publish", "chorus/acme/default/ch/_/note/_"],
        ["publish", "chorus-in/acme/#"],
        ["publish", "chorus-in/+"],
        ["publish", "$SYS/broker"],
      ];
      for (const [action, topic] of denied) {
        expect([
          action,
          topic,
          await emqxAuthz(username, action as string, topic as string),
        ]).toEqual([action, topic, "deny"]);
      }
      // A username that is neither a hub nor a credential is no one.
      expect(await emqxAuthz("acme", "subscribe", "chorus/acme/#")).toBe("deny");
      expect(await emqxAuthz("", "subscribe", "chorus/acme/#")).toBe("deny");
    });

    test("authorization: subscribe-only credentials cannot publish", async () => {
      const { username } = await credentials({ scopes: ["subscribe"] });
      expect(await emqxAuthz(username, "subscribe", "chorus/acme/#")).toBe("allow");
      expect(await emqxAuthz(username, "publish", "chorus-in/acme")).toBe("deny");
    });

    test("authorization: the hubs publish canonical topics and read ingest through the shared group only", async () => {
      expect(await emqxAuthz("chorus-hub", "publish", "chorus/acme/default/c/_/t/_")).toBe("allow");
      expect(await emqxAuthz("chorus-hub", "subscribe", "$share/chorus-hubs/chorus-in/#")).toBe(
        "allow",
      );
      expect(await emqxAuthz("chorus-hub", "subscribe", "#")).toBe("deny");
      expect(await emqxAuthz("chorus-hub", "publish", "chorus/#")).toBe("deny");
    });
  });

  describe("VerneMQ webhooks", () => {
    test("auth_on_register: the documented payload, answered ok or not_allowed", async () => {
      const c = await credentials({ clientId: "verne-1" });
      const register = (overrides: object) =>
        vernemq("auth_on_register", {
          peer_addr: "127.0.0.1",
          peer_port: 8888,
          username: c.username,
          password: c.password,
          mountpoint: "",
          client_id: "verne-1",
          clean_session: false,
          ...overrides,
        });
      expect((await register({})).body).toEqual({ result: "ok" });
      expect((await register({ client_id: "verne-2" })).body).toEqual({
        result: { error: "not_allowed" },
      });
      expect((await register({ password: null })).body).toEqual({
        result: { error: "not_allowed" },
      });
      // MQTT 5 form.
      const m5 = await vernemq("auth_on_register_m5", {
        peer_addr: "127.0.0.1",
        peer_port: 8888,
        mountpoint: "",
        client_id: "verne-1",
        username: c.username,
        password: c.password,
        clean_start: true,
        properties: {},
      });
      expect(m5.body).toEqual({ result: "ok" });
    });

    test("auth_on_subscribe: refused filters get QoS 128 (0x87 = 135 under MQTT 5); all refused is an error", async () => {
      const { username } = await credentials();
      const subscribe = (name: string, topics: { topic: string; qos: number }[]) =>
        vernemq(name, { client_id: "verne-s", mountpoint: "", username, topics });
      expect(
        (await subscribe("auth_on_subscribe", [{ topic: "chorus/acme/#", qos: 1 }])).body,
      ).toEqual({
        result: "ok",
      });
      const mixed = await subscribe("auth_on_subscribe", [
        { topic: "chorus/acme/#", qos: 1 },
        { topic: "#", qos: 0 },
      ]);
      expect(mixed.body).toEqual({
        result: "ok",
        topics: [
          { topic: "chorus/acme/#", qos: 1 },
          { topic: "#", qos: 128 },
        ],
      });
      const mixedM5 = await vernemq("auth_on_subscribe_m5", {
        username,
        mountpoint: "",
        client_id: "verne-s",
        topics: [
          { topic: "chorus/globex/#", qos: 1 },
          { topic: "chorus/acme/+/x/#", qos: 1 },
        ],
        properties: {},
      });
      expect(mixedM5.body).toEqual({
        result: "ok",
        modifiers: {
          topics: [
            { topic: "chorus/globex/#", qos: 135 },
            { topic: "chorus/acme/+/x/#", qos: 1 },
          ],
        },
      });
      expect(
        (await subscribe("auth_on_subscribe", [{ topic: "chorus/+/#", qos: 0 }])).body,
      ).toEqual({ result: { error: "not_allowed" } });
    });

    test("auth_on_publish: the org's ingest topics with the publish right only", async () => {
      const full = await credentials();
      const ro = await credentials({ scopes: ["subscribe"] });
      const publish = (username: string, topic: string) =>
        vernemq("auth_on_publish", {
          username,
          client_id: "verne-p",
          mountpoint: "",
          qos: 1,
          topic,
          payload: Buffer.from("{}").toString("base64"),
          retain: false,
        });
      expect((await publish(full.username, "chorus-in/acme")).body).toEqual({ result: "ok" });
      const notAllowed = { result: { error: "not_allowed" } };
      expect((await publish(full.username, "chorus-in/globex")).body).toEqual(notAllowed);
      expect((await publish(full.username, "chorus/acme/default/c/_/t/_")).body).toEqual(
        notAllowed,
      );
      expect((await publish(ro.username, "chorus-in/acme")).body).toEqual(notAllowed);
    });
  });

  test("without the hook secret, or with another, the routes answer 401 JSON", async () => {
    const c = await credentials({ clientId: "x" });
    const body = { username: c.username, password: c.password, clientid: "x" };
    for (const headers of [{}, { authorization: "Bearer wrong-secret-0123456789" }] as Record<
      string,
      string
    >[]) {
      const res = await hook("/v1/mqtt/hooks/emqx/authn", body, headers);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe("unauthorized");
      expect(JSON.stringify(res.body)).not.toContain(HOOK_SECRET);
    }
    const verne = await vernemq("auth_on_register", { client_id: "x" }, "wrong-secret-0123456789");
    expect(verne.status).toBe(401);
    // An API key is not the hook secret.
    const withKey = await hook("/v1/mqtt/hooks/emqx/authz", body, {
      authorization: `Bearer ${KEY_A}`,
    });
    expect(withKey.status).toBe(401);
  });

  test("malformed requests get 400 JSON, never a 500", async () => {
    const bad: [string, unknown, Record<string, string>][] = [
      ["/v1/mqtt/hooks/emqx/authn", "not json", {}],
      ["/v1/mqtt/hooks/emqx/authn", [1, 2], {}],
      ["/v1/mqtt/hooks/emqx/authn", { username: "u", password: "p" }, {}],
      ["/v1/mqtt/hooks/emqx/authn", { username: 1, password: "p", clientid: "c" }, {}],
      ["/v1/mqtt/hooks/emqx/authz", { username: "u", action: "all", topic: "t" }, {}],
      ["/v1/mqtt/hooks/emqx/authz", { username: "u", action: "publish" }, {}],
      [`/v1/mqtt/hooks/vernemq?token=${HOOK_SECRET}`, { client_id: "c" }, {}],
      [
        `/v1/mqtt/hooks/vernemq?token=${HOOK_SECRET}`,
        { client_id: "c" },
        { "vernemq-hook": "on_deliver" },
      ],
      [
        `/v1/mqtt/hooks/vernemq?token=${HOOK_SECRET}`,
        { username: "u", topics: "chorus/acme/#" },
        { "vernemq-hook": "auth_on_subscribe" },
      ],
      [
        `/v1/mqtt/hooks/vernemq?token=${HOOK_SECRET}`,
        { username: "u", topics: [{ topic: 5, qos: 0 }] },
        { "vernemq-hook": "auth_on_subscribe" },
      ],
      [
        `/v1/mqtt/hooks/vernemq?token=${HOOK_SECRET}&token=again`,
        { client_id: "c" },
        { "vernemq-hook": "auth_on_register" },
      ],
    ];
    for (const [path, body, headers] of bad) {
      const res = await hook(path, body, {
        authorization: `Bearer ${HOOK_SECRET}`,
        ...headers,
      });
      expect([path, res.status, res.body?.error?.code]).toEqual([
        path,
        400,
        expect.stringMatching(/validation_failed|invalid_json/),
      ]);
    }
  });

  test("hubs are stateless: another hub with the same CHORUS_SECRET answers for credentials this one issued", async () => {
    const c = await credentials({ clientId: "roaming" });
    const other = await startTestHub({
      mqttUrl: broker.url,
      mqttPort: false,
      mqttAuth: "hooks",
      mqttHookSecret: HOOK_SECRET,
      secret: SECRET,
    });
    const stranger = await startTestHub({
      mqttUrl: broker.url,
      mqttPort: false,
      mqttAuth: "hooks",
      mqttHookSecret: HOOK_SECRET,
      secret: "another-secret-0123456789",
    });
    try {
      const body = { username: c.username, password: c.password, clientid: "roaming" };
      const headers = { authorization: `Bearer ${HOOK_SECRET}` };
      const ask = (h: Hub) => api(h, "/v1/mqtt/hooks/emqx/authn", { key: null, body, headers });
      expect((await ask(other)).body.result).toBe("allow");
      // A hub with another signing secret cannot vouch for them.
      expect((await ask(stranger)).body.result).toBe("deny");
    } finally {
      await Promise.all([other.close(), stranger.close()]);
    }
  }, 30_000);
});

describe("hooks mode configuration is checked at start", () => {
  const base = { CHORUS_MQTT_URL: "mqtt://broker:1883", CHORUS_SECRET: SECRET };
  test("a complete configuration resolves", () => {
    const config = resolveHubConfig(
      {},
      { ...base, CHORUS_MQTT_AUTH: "hooks", CHORUS_MQTT_HOOK_SECRET: HOOK_SECRET },
    );
    expect(config.mqttAuth).toBe("hooks");
    expect(config.mqttHookSecret).toBe(HOOK_SECRET);
    expect(resolveHubConfig({}, { CHORUS_MQTT_URL: "mqtt://a:b@broker" }).mqttAuth).toBe("dynsec");
    expect(resolveHubConfig({}, {}).mqttAuth).toBeUndefined();
  });

  test.each([
    [{ ...base, CHORUS_MQTT_AUTH: "http" }, /CHORUS_MQTT_AUTH must be "dynsec" or "hooks"/],
    [{ CHORUS_MQTT_AUTH: "hooks" }, /CHORUS_MQTT_AUTH needs CHORUS_MQTT_URL/],
    [{ ...base, CHORUS_MQTT_AUTH: "hooks" }, /needs CHORUS_MQTT_HOOK_SECRET of at least 16/],
    [
      { ...base, CHORUS_MQTT_AUTH: "hooks", CHORUS_MQTT_HOOK_SECRET: "short" },
      /at least 16 characters/,
    ],
    [
      {
        CHORUS_MQTT_URL: base.CHORUS_MQTT_URL,
        CHORUS_MQTT_AUTH: "hooks",
        CHORUS_MQTT_HOOK_SECRET: HOOK_SECRET,
      },
      /needs CHORUS_SECRET, the same on every hub/,
    ],
    [
      {
        ...base,
        CHORUS_MQTT_URL: "mqtt://admin:pw@broker",
        CHORUS_MQTT_AUTH: "hooks",
        CHORUS_MQTT_HOOK_SECRET: HOOK_SECRET,
      },
      /carries no credentials/,
    ],
    [{ ...base, CHORUS_MQTT_HOOK_SECRET: HOOK_SECRET }, /only with CHORUS_MQTT_AUTH=hooks/],
  ])("%o is refused", (env, message) => {
    expect(() => resolveHubConfig({}, env)).toThrow(message);
  });
});
