import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RealtimeCredentials } from "@chorus/protocol";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import type { Hub } from "../src/index.js";
import { MAX_INGEST_IN_FLIGHT } from "../src/mqtt/external.js";
import { MAX_MQTT_PACKET_BYTES } from "../src/mqtt/packet-limit.js";
import { type DynsecMosquitto, haveMosquitto, startDynsecMosquitto } from "./external-broker.js";
import { api, KEY_A, KEY_A_READONLY, KEY_B, startTestHub } from "./helpers.js";
import { closed, collect, connectMqtt } from "./mqtt-helpers.js";
import { freshDb } from "./store-under-test.js";

// Hubs on an external Mosquitto 2 (CHORUS_MQTT_URL) with its dynamic-security plugin: the
// broker, not the hub, holds and enforces the realtime credentials.

let broker: DynsecMosquitto;
const hubs: Hub[] = [];
beforeAll(async () => {
  if (haveMosquitto) broker = await startDynsecMosquitto();
}, 30_000);
// Every hub on the broker is in the ingest group: one left running would take a share of the
// next test's publishes into its own database.
afterEach(async () => {
  await Promise.all(hubs.splice(0).map((h) => h.close()));
});
afterAll(async () => {
  await broker?.close();
});

async function hubOnBroker(): Promise<Hub> {
  const hub = await startTestHub({ mqttUrl: broker.adminUrl, mqttPort: false });
  hubs.push(hub);
  return hub;
}

async function credentials(hub: Hub, body: object = {}, key = KEY_A): Promise<RealtimeCredentials> {
  const res = await api(hub, "/v1/realtime/credentials", { key, body });
  expect(res.status).toBe(200);
  return res.body as RealtimeCredentials;
}

function connectWith(c: RealtimeCredentials, clientId = c.clientId) {
  return connectMqtt(c.url as string, c.password, { username: c.username, clientId });
}

async function stored(hub: Hub, channel: string): Promise<{ id: string; payload: any }[]> {
  const res = await api(hub, `/v1/events?channel=${channel}&limit=1000`);
  expect(res.status).toBe(200);
  return res.body.data;
}

async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Make every write of the hub's store wait until `release()`; `waiting()` counts them. */
function stallStore(hub: Hub) {
  const insert = hub.store.insertEvents.bind(hub.store);
  let waiting = 0;
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  hub.store.insertEvents = async (org, events) => {
    waiting++;
    await released;
    return insert(org, events);
  };
  return { waiting: () => waiting, release };
}

describe.runIf(haveMosquitto)("an external MQTT broker (Mosquitto 2, dynamic security)", () => {
  test("realtime credentials are a broker client held to its org; stored events arrive on their canonical topic", async () => {
    const hub = await hubOnBroker();
    expect(hub.mqttUrl).toBe(`mqtt://127.0.0.1:${broker.port}`);
    const c = await credentials(hub);
    expect(c.url).toBe(`mqtt://127.0.0.1:${broker.port}`);
    expect(c.username).toMatch(/^chorus-rt-/);
    expect(c.password).not.toBe(KEY_A);
    const client = await connectWith(c);
    const inbox = collect(client);
    await client.subscribeAsync(`${c.topicPrefix}#`);
    // Another org's topics are refused by the broker itself.
    await expect(client.subscribeAsync("chorus/globex/#")).rejects.toThrow();

    const res = await api(hub, "/v1/events", {
      body: { channel: "ext", type: "note", payload: { n: 1 } },
    });
    expect(res.status).toBe(202);
    const [got] = await inbox.next(1);
    expect(got?.topic).toBe("chorus/acme/default/ext/_/note/_");
    expect(got?.body.payload).toEqual({ n: 1 });
    expect(got?.body.id).toBe(res.body.ids[0]);

    // A publish into the org's ingest topic is stored by the hub and republished canonically.
    await client.publishAsync(
      "chorus-in/acme",
      JSON.stringify({ channel: "ext-in", type: "note", payload: { via: "mqtt" } }),
      { qos: 1 },
    );
    await until(async () => (await stored(hub, "ext-in")).length === 1);
    const [republished] = await inbox.next(2).then((m) => m.slice(1));
    expect(republished?.body.payload).toEqual({ via: "mqtt" });
    // Into another org's ingest topic: the broker drops it, nothing is stored there.
    await client.publishAsync(
      "chorus-in/globex",
      JSON.stringify({ channel: "ext-in", type: "note", payload: { forged: true } }),
      { qos: 1 },
    );
    // The same credentials with another client id are refused.
    await expect(connectWith(c, "someone-else")).rejects.toThrow(/Not authorized/);
    await client.endAsync();
    const globex = await api(hub, "/v1/events?channel=ext-in", { key: KEY_B });
    expect(globex.body.data).toEqual([]);
  }, 30_000);

  test("a flood of client publishes waits in the broker, not in the hub: at most MAX_INGEST_IN_FLIGHT at once, none lost", async () => {
    const hub = await hubOnBroker();
    // The store stalls (a slow disk, a Postgres failover): every write waits for the test.
    const stalled = stallStore(hub);
    const client = await connectWith(await credentials(hub));
    const FLOOD = 3 * MAX_INGEST_IN_FLIGHT;
    await Promise.all(
      Array.from({ length: FLOOD }, (_, n) =>
        client.publishAsync(
          "chorus-in/acme",
          JSON.stringify({ channel: "flood", type: "note", payload: { n } }),
          { qos: 1 },
        ),
      ),
    );
    await until(async () => stalled.waiting() === MAX_INGEST_IN_FLIGHT);
    await new Promise((r) => setTimeout(r, 300)); // room for more to pile up, were they read
    expect(stalled.waiting()).toBe(MAX_INGEST_IN_FLIGHT);
    // The broker's answers to the hub's own requests do not wait behind the held publishes.
    expect((await credentials(hub)).username).toMatch(/^chorus-rt-/);
    const metrics = await fetch(`${hub.url}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(
      new RegExp(`^chorus_mqtt_ingest_in_flight ${MAX_INGEST_IN_FLIGHT}$`, "m"),
    );

    stalled.release();
    await until(async () => (await stored(hub, "flood")).length === FLOOD);
    const payloads = (await stored(hub, "flood")).map((e) => e.payload.n).sort((a, b) => a - b);
    expect(payloads).toEqual(Array.from({ length: FLOOD }, (_, n) => n));
    await client.endAsync();
  }, 30_000);

  test("a hub that stops (SIGTERM, a rolling restart) first stores the publishes it had taken from the broker", async () => {
    // A database that outlives the hub, to count what it stored.
    const fresh = await freshDb();
    const db =
      fresh === ":memory:"
        ? join(mkdtempSync(join(tmpdir(), "chorus-ext-stop-")), "hub.db")
        : fresh;
    const hub = await startTestHub({ db, mqttUrl: broker.adminUrl, mqttPort: false });
    const stalled = stallStore(hub);
    const client = await connectWith(await credentials(hub));
    const TAKEN = 10;
    for (let n = 0; n < TAKEN; n++)
      await client.publishAsync(
        "chorus-in/acme",
        JSON.stringify({ channel: "stopping", type: "note", payload: { n } }),
        { qos: 1 },
      );
    await until(async () => stalled.waiting() === TAKEN);
    // The broker has acknowledged all ten; the hub is asked to stop while it still holds them.
    const stopping = hub.close();
    await new Promise((r) => setTimeout(r, 100));
    stalled.release();
    await stopping;
    await client.endAsync();

    const after = await startTestHub({ db, mqttPort: false });
    try {
      const res = await api(after, "/v1/events?channel=stopping&limit=100");
      expect(res.body.data.map((e: { payload: { n: number } }) => e.payload.n).sort()).toEqual(
        Array.from({ length: TAKEN }, (_, n) => n).sort(),
      );
    } finally {
      await after.close();
    }
  }, 30_000);

  test("a publish larger than a hub takes is never handed to it: the broker drops it for the hub", async () => {
    const hub = await hubOnBroker();
    const client = await connectWith(await credentials(hub));
    const huge = JSON.stringify({
      type: "note",
      channel: "big",
      payload: { x: "x".repeat(2 * MAX_MQTT_PACKET_BYTES) },
    });
    await client.publishAsync("chorus-in/acme", huge, { qos: 1 });
    await client.publishAsync(
      "chorus-in/acme",
      JSON.stringify({ type: "note", channel: "big", payload: { x: "small" } }),
      { qos: 1 },
    );
    await until(async () => (await stored(hub, "big")).length === 1);
    expect((await stored(hub, "big")).map((e) => e.payload.x)).toEqual(["small"]);
    // Dropped by the broker before the hub read it, not by the hub after buffering it whole.
    const metrics = await fetch(`${hub.url}/metrics`).then((r) => r.text());
    expect(metrics).not.toMatch(/^chorus_mqtt_ingest_dropped_total\{reason="too_large"\}/m);
    await client.endAsync();
  }, 30_000);

  test("subscribe-only credentials cannot publish into the ingest topics", async () => {
    const hub = await hubOnBroker();
    const c = await credentials(hub, { scopes: ["subscribe"] });
    const client = await connectWith(c);
    await client.subscribeAsync(`${c.topicPrefix}#`);
    await client
      .publishAsync(
        "chorus-in/acme",
        JSON.stringify({ channel: "ext-ro", type: "note", payload: {} }),
        { qos: 1 },
      )
      .catch(() => {});
    // A read-only key's credentials are subscribe-only too.
    const ro = await credentials(hub, {}, KEY_A_READONLY);
    const roClient = await connectWith(ro);
    await roClient
      .publishAsync(
        "chorus-in/acme",
        JSON.stringify({ channel: "ext-ro", type: "note", payload: {} }),
        { qos: 1 },
      )
      .catch(() => {});
    // Something that is stored, to know the hub has read everything before it.
    const probe = await connectWith(await credentials(hub));
    await probe.publishAsync(
      "chorus-in/acme",
      JSON.stringify({ channel: "ext-ro", type: "probe", payload: {} }),
      { qos: 1 },
    );
    await until(async () => (await stored(hub, "ext-ro")).length >= 1);
    expect((await stored(hub, "ext-ro")).map((e: any) => e.type)).toEqual(["probe"]);
    await Promise.all([client.endAsync(), roClient.endAsync(), probe.endAsync()]);
  }, 30_000);

  test("two hubs share the ingest: each client publish is stored by exactly one of them", async () => {
    const [a, b] = [await hubOnBroker(), await hubOnBroker()];
    const client = await connectWith(await credentials(a));
    const total = 40;
    for (let i = 0; i < total; i++) {
      await client.publishAsync(
        "chorus-in/acme",
        JSON.stringify({ id: `shared-${i}`, channel: "ext-shared", type: "n", payload: { i } }),
        { qos: 1 },
      );
    }
    const ids = async () => [
      ...(await stored(a as Hub, "ext-shared")),
      ...(await stored(b as Hub, "ext-shared")),
    ];
    // Each hub has its own database here, so the two lists are the two shares: together every
    // publish once, and none in both.
    await until(async () => new Set((await ids()).map((e) => e.id)).size === total, 15_000);
    const all = await ids();
    expect(all).toHaveLength(total);
    expect(new Set(all.map((e) => e.id)).size).toBe(total);
    await client.endAsync();
  }, 30_000);

  test("credentials end at their expiry: the broker deletes them and disconnects their holder", async () => {
    const hub = await hubOnBroker();
    const c = await credentials(hub, { ttlSeconds: 10 });
    const client = await connectWith(c);
    await closed(client);
    await expect(connectWith(c)).rejects.toThrow(/Not authorized/);
  }, 30_000);
});
