import { once } from "node:events";
import { connect, createServer, type Socket } from "node:net";
import { PassThrough } from "node:stream";
import { Aedes, type Client } from "aedes";
import mqtt from "mqtt";
import mqttPacket, { type Packet } from "mqtt-packet";
import { afterEach, describe, expect, test } from "vitest";
import type { HubContext } from "../src/context.js";
import { StreamCap } from "../src/delivery/stream-cap.js";
import type { Hub } from "../src/index.js";
import { createAuthHooks } from "../src/mqtt/auth.js";
import {
  IDLE_SESSION_TTL_MS,
  IdleSessions,
  MAX_IDLE_SESSIONS_PER_ORG,
} from "../src/mqtt/idle-sessions.js";
import { forgetSession, keepInboundQoS2Small } from "../src/mqtt/persistence.js";
import { PublishThrottle } from "../src/mqtt/publish-throttle.js";
import { MAX_SUBSCRIPTIONS_PER_CLIENT, MqttSessions } from "../src/mqtt/sessions.js";
import { api, KEY_A, KEY_B, startTestHub } from "./helpers.js";
import { connectMqtt, metric } from "./mqtt-helpers.js";

let hub: Hub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

/** A raw MQTT 3.1.1 connection: packets written as given, every packet read kept. */
async function rawClient(port: number, clientId: string, key = KEY_A) {
  const socket: Socket = connect(port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const received: Packet[] = [];
  const waiters: (() => void)[] = [];
  const parser = mqttPacket.parser();
  parser.on("packet", (packet) => {
    received.push(packet);
    for (const wake of waiters.splice(0)) wake();
  });
  socket.on("data", (chunk) => parser.parse(chunk));
  const send = (packet: Packet) => socket.write(mqttPacket.generate(packet));
  /** The first packet received (from `from` on) that `match` accepts. */
  const next = async (match: (p: Packet) => boolean, from = 0): Promise<Packet> => {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const found = received.slice(from).find(match);
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(`no matching packet in ${JSON.stringify(received)}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  };
  send({
    cmd: "connect",
    protocolId: "MQTT",
    protocolVersion: 4,
    clean: true,
    clientId,
    keepalive: 0,
    username: "any",
    password: Buffer.from(key),
  });
  const connack = await next((p) => p.cmd === "connack");
  expect(connack).toMatchObject({ returnCode: 0 });
  return { socket, received, send, next };
}

describe("inbound QoS 2", () => {
  test("a resent QoS 2 publish is stored once, and the handshake completes", async () => {
    hub = await startTestHub();
    const client = await rawClient(hub.mqttPort as number, "qos2-publisher");
    const body = JSON.stringify({ channel: "ops", type: "custom", payload: { n: 1 } });
    const publish = {
      cmd: "publish",
      topic: "chorus-in/acme/ops",
      qos: 2,
      messageId: 7,
      payload: Buffer.from(body),
      retain: false,
      dup: false,
    } as const;
    client.send(publish);
    await client.next((p) => p.cmd === "pubrec" && p.messageId === 7);
    const seen = client.received.length;
    // The PUBREC was lost, say: the client sends the PUBLISH again, as MQTT 3.1.1 has it do.
    client.send({ ...publish, dup: true });
    await client.next((p) => p.cmd === "pubrec" && p.messageId === 7, seen);
    client.send({ cmd: "pubrel", messageId: 7 });
    await client.next((p) => p.cmd === "pubcomp" && p.messageId === 7);
    client.socket.destroy();

    const listed = await api(hub, "/v1/events?channel=ops");
    expect(listed.status).toBe(200);
    expect(listed.body.data).toHaveLength(1);
    expect(listed.body.data[0].payload).toEqual({ n: 1 });
  });

  test("the broker keeps only the id of a publish waiting for its PUBREL, not its payload", async () => {
    const broker = await Aedes.createBroker();
    try {
      keepInboundQoS2Small(broker);
      type Held = { messageId: number; payload: Buffer; topic: string };
      const store = (
        broker as unknown as {
          persistence: {
            incomingStorePacket(client: Client, packet: object): Promise<void>;
            incomingGetPacket(client: Client, packet: object): Promise<Held>;
          };
        }
      ).persistence;
      const client = { id: "held" } as Client;
      const payload = Buffer.alloc(1024 * 1024, 0x61);
      await store.incomingStorePacket(client, {
        cmd: "publish",
        topic: "chorus-in/acme/ops",
        qos: 2,
        messageId: 9,
        payload,
      });
      const held = await store.incomingGetPacket(client, { messageId: 9 });
      expect(held).toMatchObject({ messageId: 9 });
      expect(held.payload.length).toBe(0);
      expect(held.topic).toBe("");
    } finally {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    }
  });
});

describe("subscriptions per connection", () => {
  test(`past ${MAX_SUBSCRIPTIONS_PER_CLIENT} filters a SUBSCRIBE is refused per filter, the connection stays`, async () => {
    hub = await startTestHub();
    const client = await connectMqtt(hub.mqttUrl as string, KEY_A);
    try {
      const filters = (from: number, count: number) =>
        Object.fromEntries(
          Array.from({ length: count }, (_, i) => [
            `chorus/acme/prod/ch-${from + i}/#`,
            { qos: 0 },
          ]),
        ) as Record<string, { qos: 0 }>;
      const first = await client.subscribeAsync(filters(0, MAX_SUBSCRIPTIONS_PER_CLIENT));
      expect(first.every((g) => g.qos === 0)).toBe(true);
      // Subscribing again to a filter it holds is no new filter.
      const again = await client.subscribeAsync(filters(0, 1));
      expect(again[0]?.qos).toBe(0);
      // mqtt.js rejects a SUBSCRIBE with any refused filter; the SUBACK rides on the error.
      const over = await client
        .subscribeAsync(filters(MAX_SUBSCRIPTIONS_PER_CLIENT, 2))
        .catch((error: { packet: { granted: number[] } }) => error.packet.granted);
      expect(over).toEqual([128, 128]);
      expect(client.connected).toBe(true);
      // An unsubscribe frees its place.
      await client.unsubscribeAsync("chorus/acme/prod/ch-0/#");
      const freed = await client.subscribeAsync(filters(MAX_SUBSCRIPTIONS_PER_CLIENT, 1));
      expect(freed[0]?.qos).toBe(0);
      expect(await metric(hub, "chorus_mqtt_denied_total", '{kind="subscription_limit"}')).toBe(2);
    } finally {
      await client.endAsync();
    }
  });
});

describe("connections per key", () => {
  test("past maxStreamsPerKey a CONNECT is refused with 'server unavailable'; other keys are not", async () => {
    hub = await startTestHub({ delivery: { maxStreamsPerKey: 2 } });
    const url = hub.mqttUrl as string;
    const held = [await connectMqtt(url, KEY_A), await connectMqtt(url, KEY_A)];
    await expect(connectMqtt(url, KEY_A)).rejects.toMatchObject({ code: 3 });
    expect(await metric(hub, "chorus_mqtt_denied_total", '{kind="connection_limit"}')).toBe(1);
    const other = await connectMqtt(url, KEY_B);
    await other.endAsync();
    // A closed connection gives its place back.
    await held[0]?.endAsync();
    const deadline = Date.now() + 5_000;
    let again: mqtt.MqttClient | undefined;
    while (!again) {
      again = await connectMqtt(url, KEY_A).catch((error: unknown) => {
        if (Date.now() > deadline) throw error;
        return undefined;
      });
    }
    await again.endAsync();
    await held[1]?.endAsync();
  });
});

describe("a connection's place under the per-key cap", () => {
  test("is given back when the client was gone before its CONNECT was authenticated", async () => {
    const cap = new StreamCap(1);
    const ctx = {
      config: {},
      metrics: {},
      logger: {},
      auth: { authenticateSecret: () => ({ org: "acme", keyId: "k1", scopes: new Set() }) },
      delivery: { mqttConnections: cap },
    } as unknown as HubContext;
    const hooks = createAuthHooks(ctx, new MqttSessions(() => {}));
    const conn = new PassThrough();
    conn.destroy();
    await once(conn, "close");
    const accepted = await new Promise<boolean | null>((resolve) =>
      hooks.authenticate(
        { id: "gone", conn } as unknown as Client,
        "u",
        Buffer.from("k"),
        (_e, ok) => resolve(ok),
      ),
    );
    expect(accepted).toBe(true);
    // The cap of one is free again: the gone client's close came before the hook listened.
    expect(cap.acquire("k1")).toBeDefined();
  });
});

describe("connections of realtime credentials", () => {
  test("count against the key that minted them", async () => {
    hub = await startTestHub({ delivery: { maxStreamsPerKey: 1 } });
    const res = await api(hub, "/v1/realtime/credentials", { body: {} });
    expect(res.status).toBe(200);
    const creds = res.body;
    const viaKey = await connectMqtt(hub.mqttUrl as string, KEY_A);
    await expect(
      connectMqtt(hub.mqttUrl as string, creds.password, {
        username: creds.username,
        clientId: creds.clientId,
      }),
    ).rejects.toMatchObject({ code: 3 });
    await viaKey.endAsync();
  });
});

describe("the key's rate limit over MQTT", () => {
  test("publishes past it are held back and ingested later, none lost, in order", async () => {
    hub = await startTestHub({ rateLimit: "2/s" });
    const client = await connectMqtt(hub.mqttUrl as string, KEY_A);
    try {
      await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          client.publishAsync(
            "chorus-in/acme",
            JSON.stringify({ channel: "throttled", type: "custom", payload: { i } }),
            { qos: 1 },
          ),
        ),
      );
      const listed = await api(hub, "/v1/events?channel=throttled");
      expect(listed.body.data.map((e: { payload: { i: number } }) => e.payload.i)).toEqual([
        0, 1, 2, 3, 4, 5,
      ]);
      // Two at once (the limit's burst), the four others one by one.
      expect(await metric(hub, "chorus_mqtt_publishes_delayed_total")).toBe(4);
    } finally {
      await client.endAsync();
    }
  });

  test("the throttle spaces a key's publishes past its burst; keys are counted apart", () => {
    const throttle = new PublishThrottle({ max: 3, windowMs: 3_000 });
    const delays = [0, 1, 2, 3, 4].map(() => throttle.delay("k", 10_000));
    expect(delays).toEqual([0, 0, 0, 1_000, 2_000]);
    expect(throttle.delay("other", 10_000)).toBe(0);
    // Once its budget is whole again, a key bursts again.
    expect(throttle.delay("k", 20_000)).toBe(0);
  });
});

describe("persistent sessions whose client is gone", () => {
  test("are forgotten after IDLE_SESSION_TTL_MS, and past the per-org bound oldest first", () => {
    const forgotten: string[] = [];
    const idle = new IdleSessions((clientId, org) => forgotten.push(`${org}/${clientId}`));
    idle.add("acme", "a1", 1_000);
    idle.add("acme", "a2", 2_000);
    idle.add("globex", "g1", 1_500);
    idle.delete("acme", "a2"); // its client came back
    idle.sweep(1_000 + IDLE_SESSION_TTL_MS - 1);
    expect(forgotten).toEqual([]);
    idle.sweep(1_500 + IDLE_SESSION_TTL_MS);
    expect(forgotten).toEqual(["acme/a1", "globex/g1"]);
    expect(idle.size).toBe(0);

    forgotten.length = 0;
    for (let i = 0; i <= MAX_IDLE_SESSIONS_PER_ORG; i++) idle.add("acme", `c${i}`, 10_000 + i);
    idle.add("globex", "g2", 10_000);
    expect(forgotten).toEqual(["acme/c0"]);
    expect(idle.size).toBe(MAX_IDLE_SESSIONS_PER_ORG + 1);
  });

  test("a session is idle once its client is gone, unless another connection took its id", () => {
    const forgotten: string[] = [];
    const sessions = new MqttSessions((clientId) => forgotten.push(clientId));
    const client = (id: string, clean: boolean) => {
      const c = { id, clean } as Client;
      sessions.remember(c, { org: "acme", scopes: new Set(["subscribe"]) } as never);
      sessions.connected(c, () => {});
      return c;
    };
    const gone = client("gone", false);
    sessions.disconnected(gone);
    const old = client("taken-over", false);
    const successor = client("taken-over", false); // the broker closes `old` after this
    sessions.disconnected(old);
    const cleanOne = client("clean", true);
    sessions.disconnected(cleanOne);
    expect(sessions.idleSessions).toBe(1);
    sessions.sweepIdle(Date.now() + IDLE_SESSION_TTL_MS + 1);
    expect(forgotten).toEqual(["gone"]);
    // Forgotten, the id no longer belongs to the org: another org may use it.
    expect(sessions.ownerOrg("gone")).toBeUndefined();
    expect(sessions.ownerOrg("taken-over")).toBe("acme");
    sessions.disconnected(successor);
  });

  test("a forgotten session is gone from the broker: the client comes back without it", async () => {
    const broker = await Aedes.createBroker();
    const server = createServer((socket) => broker.handle(socket));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`;
    const options = { clientId: "persistent", clean: false, reconnectPeriod: 0 } as const;
    /** Connect, read the CONNACK's session-present flag, and leave. */
    const sessionPresent = async () => {
      const client = mqtt.connect(url, options);
      const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
        client.once("connect", resolve);
        client.once("error", reject);
      });
      await client.endAsync();
      return connack.sessionPresent;
    };
    try {
      const first = await mqtt.connectAsync(url, options);
      await first.subscribeAsync("chorus/acme/#", { qos: 0 });
      await first.endAsync();
      expect(await sessionPresent()).toBe(true);
      await forgetSession(broker, "persistent");
      expect(await sessionPresent()).toBe(false);
    } finally {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
