import { connect as connectTcp } from "node:net";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { Authenticator, type Principal } from "../src/auth.js";
import type { Hub } from "../src/index.js";
import { api, KEY_A, KEY_A_READONLY, KEY_B, ORG_A, startTestHub } from "./helpers.js";
import { closed, collect, connectMqtt, metric, sleep } from "./mqtt-helpers.js";

const SECRET = "test-secret-for-realtime-tokens";
const event = { channel: "research", type: "custom", payload: {} };

let hub: Hub;
beforeEach(async () => {
  hub = await startTestHub({ secret: SECRET });
});
afterEach(async () => {
  await hub.close();
});

/** Mint a token the way the hub does, with the hub's secret. */
/** A realtime token minted from org A's key (a token dies with its key, so a real one). */
function token(clientId: string, ttlMs: number): string {
  const auth = new Authenticator([{ org: ORG_A, key: KEY_A }], SECRET);
  const principal = auth.authenticateKey(KEY_A) as Principal;
  return auth.issueToken(principal, clientId, ttlMs).token;
}

describe("connect", () => {
  test("a bad key is refused with 'bad username or password' and counted", async () => {
    await expect(connectMqtt(hub.mqttUrl!, "not-a-key")).rejects.toMatchObject({ code: 4 });
    await expect(connectMqtt(hub.wsUrl, "")).rejects.toMatchObject({ code: 4 });
    expect(await metric(hub, "chorus_mqtt_auth_failures_total")).toBe(2);
  });

  test("realtime credentials from POST /v1/realtime/credentials work over WebSocket", async () => {
    const res = await api(hub, "/v1/realtime/credentials", { body: {} });
    expect(res.status).toBe(200);
    const creds = res.body;
    const client = await connectMqtt(creds.wsUrl, creds.password, {
      username: creds.username,
      clientId: creds.clientId,
    });
    const inbox = collect(client);
    await client.subscribeAsync(`${creds.topicPrefix}#`);
    await api(hub, "/v1/events", { body: event });
    const [msg] = await inbox.next();
    expect(msg!.topic.startsWith(creds.topicPrefix)).toBe(true);
    await client.endAsync();
  });

  test("a persistent session without a client id is refused: identifier rejected (MQTT-3.1.3-8)", async () => {
    // mqtt.js refuses to send this CONNECT, so it is written by hand: MQTT 3.1.1, clean=false,
    // an empty client id, org A's name and key.
    const str = (text: string) => {
      const bytes = Buffer.from(text);
      return [bytes.length >> 8, bytes.length & 0xff, ...bytes];
    };
    const body = [...str("MQTT"), 4, 0xc0, 0, 60, ...str(""), ...str(ORG_A), ...str(KEY_A)];
    const connack = await new Promise<Buffer>((resolve, reject) => {
      const url = new URL(hub.mqttUrl!);
      const socket = connectTcp(Number(url.port), url.hostname, () =>
        socket.write(Buffer.from([0x10, body.length, ...body])),
      );
      socket.once("data", (data) => {
        socket.destroy();
        resolve(data);
      });
      socket.once("error", reject);
    });
    expect([...connack.subarray(0, 4)]).toEqual([0x20, 2, 0, 2]);
    // With a client id the same session is granted.
    const named = await connectMqtt(hub.mqttUrl!, KEY_A, { clientId: "named", clean: false });
    await named.endAsync();
  });

  test("a token is bound to its client id", async () => {
    await expect(
      connectMqtt(hub.mqttUrl!, token("agent-1", 60_000), { clientId: "agent-2" }),
    ).rejects.toMatchObject({
      code: 4,
    });
    const ok = await connectMqtt(hub.mqttUrl!, token("agent-1", 60_000), { clientId: "agent-1" });
    await ok.endAsync();
  });

  test("one org cannot take over a client id connected under another org", async () => {
    const mine = await connectMqtt(hub.mqttUrl!, KEY_A, { clientId: "shared-id" });
    await expect(connectMqtt(hub.wsUrl, KEY_B, { clientId: "shared-id" })).rejects.toMatchObject({
      code: 2,
    });
    await sleep(50);
    expect(mine.connected).toBe(true);
    expect(await metric(hub, "chorus_mqtt_denied_total", '{kind="connect"}')).toBe(1);
    // Within one org the usual MQTT takeover applies.
    const gone = closed(mine);
    const again = await connectMqtt(hub.wsUrl, KEY_A, { clientId: "shared-id" });
    await gone;
    await again.endAsync();
  });

  test("a persistent session's client id stays its org's after the holder disconnects", async () => {
    const options = { clientId: "persistent-id", clean: false } as const;
    const first = await connectMqtt(hub.mqttUrl!, KEY_A, options);
    await first.subscribeAsync("chorus/acme/#", { qos: 1 });
    await first.endAsync();
    await api(hub, "/v1/events", { body: event });
    // Another org can neither resume the session (clean=false) nor wipe it (clean=true).
    for (const clean of [false, true]) {
      await expect(
        connectMqtt(hub.wsUrl, KEY_B, { clientId: "persistent-id", clean }),
      ).rejects.toMatchObject({ code: 2 });
    }
    expect(await metric(hub, "chorus_mqtt_denied_total", '{kind="connect"}')).toBe(2);
    // The owner resumes its session, subscription included, without subscribing again.
    const again = await connectMqtt(hub.mqttUrl!, KEY_A, options);
    const received = collect(again);
    await api(hub, "/v1/events", { body: { ...event, type: "after.resume" } });
    // On Postgres the event posted while it was away may still reach it first (the tail reads
    // commits a little later); what matters is that the restored subscription delivers.
    for (let n = 1; !received.messages.some((m) => m.body.type === "after.resume"); n++) {
      await received.next(n);
    }
    // Ending the session with clean=true frees the id.
    await again.endAsync();
    const ended = await connectMqtt(hub.mqttUrl!, KEY_A, { clientId: "persistent-id" });
    await ended.endAsync();
    const other = await connectMqtt(hub.wsUrl, KEY_B, { clientId: "persistent-id" });
    await other.endAsync();
  });

  test("an expired token is refused", async () => {
    await expect(
      connectMqtt(hub.mqttUrl!, token("late", -1_000), { clientId: "late" }),
    ).rejects.toMatchObject({
      code: 4,
    });
  });

  test("a client is disconnected when its token expires", async () => {
    const client = await connectMqtt(hub.wsUrl, token("short", 1_000), { clientId: "short" });
    const started = Date.now();
    await closed(client);
    expect(Date.now() - started).toBeLessThan(3_000);
    await sleep(50);
    expect(await metric(hub, "chorus_mqtt_clients")).toBe(0);
  });
});

describe("subscribe", () => {
  test.each([
    "chorus/globex/#",
    "chorus/+/default/research/#",
    "chorus/#",
    "#",
    "+/acme/#",
    "chorus-in/acme/#",
    "$SYS/#",
  ])("%s is refused with a SUBACK failure and the connection stays up", async (filter) => {
    const client = await connectMqtt(hub.mqttUrl!, KEY_A);
    const inbox = collect(client);
    await expect(client.subscribeAsync(filter)).rejects.toMatchObject({
      packet: { granted: [128] },
    });
    expect(client.connected).toBe(true);
    await client.subscribeAsync("chorus/acme/#");
    await api(hub, "/v1/events", { key: KEY_B, body: event });
    await api(hub, "/v1/events", { body: event });
    await inbox.next();
    await sleep(100);
    expect(inbox.messages.map((m) => m.topic.split("/")[1])).toEqual(["acme"]);
    expect(await metric(hub, "chorus_mqtt_denied_total", '{kind="subscribe"}')).toBe(1);
    await client.endAsync();
  });

  test("a key without the subscribe scope cannot subscribe", async () => {
    const hub2 = await startTestHub({ apiKeys: `${ORG_A}:${KEY_A}:publish+read` });
    try {
      const client = await connectMqtt(hub2.mqttUrl!, KEY_A);
      await expect(client.subscribeAsync("chorus/acme/#")).rejects.toMatchObject({
        packet: { granted: [128] },
      });
      await client.endAsync();
    } finally {
      await hub2.close();
    }
  });
});

describe("publish", () => {
  test("publishing on a canonical chorus/ topic is refused: the connection closes and no one receives it", async () => {
    const watcher = await connectMqtt(hub.mqttUrl!, KEY_A);
    const inbox = collect(watcher);
    await watcher.subscribeAsync("chorus/acme/#");
    const forger = await connectMqtt(hub.mqttUrl!, KEY_A);
    const gone = closed(forger);
    forger.publish("chorus/acme/default/research/_/custom/_", JSON.stringify({ ...event, seq: 1 }));
    await gone;
    await sleep(100);
    expect(inbox.messages).toEqual([]);
    expect(await metric(hub, "chorus_mqtt_denied_total", '{kind="publish"}')).toBe(1);
    await watcher.endAsync();
  });

  test("publishing into another org's chorus-in is refused and nothing is stored there", async () => {
    const client = await connectMqtt(hub.mqttUrl!, KEY_A);
    const gone = closed(client);
    client.publish("chorus-in/globex/default/research/_/custom/_", JSON.stringify(event));
    await gone;
    expect((await hub.store.listEvents("globex", {}, { limit: 10 })).data).toEqual([]);
    expect(await metric(hub, "chorus_mqtt_ingest_dropped_total", '{reason="wrong_org"}')).toBe(1);
  });

  test("a key without the publish scope cannot ingest", async () => {
    const client = await connectMqtt(hub.mqttUrl!, KEY_A_READONLY);
    const gone = closed(client);
    client.publish("chorus-in/acme", JSON.stringify(event));
    await gone;
    expect((await hub.store.listEvents(ORG_A, {}, { limit: 10 })).data).toEqual([]);
    expect(await metric(hub, "chorus_mqtt_ingest_dropped_total", '{reason="forbidden"}')).toBe(1);
  });
});

describe("narrowed realtime credentials", () => {
  test('{ scopes: ["subscribe"] } gives credentials that read but cannot publish', async () => {
    const res = await api(hub, "/v1/realtime/credentials", { body: { scopes: ["subscribe"] } });
    expect(res.status).toBe(200);
    const creds = res.body;
    const client = await connectMqtt(creds.wsUrl, creds.password, { clientId: creds.clientId });
    const inbox = collect(client);
    await client.subscribeAsync(`${creds.topicPrefix}#`);
    await api(hub, "/v1/events", { body: event });
    await inbox.next();
    const gone = closed(client);
    client.publish("chorus-in/acme", JSON.stringify({ ...event, type: "from.browser" }));
    await gone;
    const stored = await hub.store.listEvents(ORG_A, { type: "from.browser" }, { limit: 10 });
    expect(stored.data).toEqual([]);
    expect(await metric(hub, "chorus_mqtt_ingest_dropped_total", '{reason="forbidden"}')).toBe(1);
  });

  test("are never wider than the key that asked (403), and a bad scope is 400", async () => {
    const wider = await api(hub, "/v1/realtime/credentials", {
      key: KEY_A_READONLY,
      body: { scopes: ["subscribe", "publish"] },
    });
    expect(wider.status).toBe(403);
    expect(wider.body.error.details.missing).toEqual(["publish"]);
    const bad = await api(hub, "/v1/realtime/credentials", { body: { scopes: ["everything"] } });
    expect(bad.status).toBe(400);
  });

  test("a token from POST /v1/tokens gets credentials no wider than itself", async () => {
    const minted = await api(hub, "/v1/tokens", { body: { scopes: ["subscribe"] } });
    const token = minted.body.token as string;
    const creds = await api(hub, "/v1/realtime/credentials", { key: token, body: {} });
    expect(creds.status).toBe(200);
    const client = await connectMqtt(creds.body.wsUrl, creds.body.password, {
      clientId: creds.body.clientId,
    });
    const gone = closed(client);
    client.publish("chorus-in/acme", JSON.stringify(event));
    await gone;
    const asked = await api(hub, "/v1/realtime/credentials", {
      key: token,
      body: { scopes: ["publish"] },
    });
    expect(asked.status).toBe(403);
  });
});
