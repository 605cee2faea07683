import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Hub } from "../src/index.js";
import { type DynsecMosquitto, haveMosquitto, startDynsecMosquitto } from "./external-broker.js";
import { api, startTestHub } from "./helpers.js";
import { connectMqtt, metric } from "./mqtt-helpers.js";
import { adminOf, freshDb } from "./store-under-test.js";

// A hub on an external broker whose Postgres goes away for a while (a failover): the broker has
// acknowledged its clients' publishes already and nobody would send them again, so the hub
// must keep them until the store is back instead of dropping them.

let broker: DynsecMosquitto;
let hub: Hub;
let db: string;
beforeAll(async () => {
  if (!haveMosquitto) return;
  broker = await startDynsecMosquitto();
  db = await freshDb();
  hub = await startTestHub({ db, mqttUrl: broker.adminUrl, mqttPort: false });
}, 30_000);
afterAll(async () => {
  await hub?.close();
  await broker?.close();
});

async function until(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function storedIds(): Promise<string[]> {
  const res = await api(hub, "/v1/events?channel=outage&limit=1000");
  expect(res.status).toBe(200);
  return res.body.data.map((e: { id: string }) => e.id);
}

describe.runIf(haveMosquitto)("external broker, store unreachable", { timeout: 60_000 }, () => {
  test("publishes that arrive while Postgres refuses connections are stored once it is back, none dropped", async () => {
    const res = await api(hub, "/v1/realtime/credentials", { body: {} });
    expect(res.status).toBe(200);
    const c = res.body;
    const client = await connectMqtt(c.url, c.password, {
      username: c.username,
      clientId: c.clientId,
    });
    const publish = (id: string) =>
      client.publishAsync(
        "chorus-in/acme",
        JSON.stringify({ id, channel: "outage", type: "note", payload: { id } }),
        { qos: 1 },
      );

    const { admin, name } = await adminOf(db);
    try {
      await publish("before");
      await until(async () => (await storedIds()).includes("before"));

      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
      await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        [name],
      );
      const during = ["during-1", "during-2", "during-3", "during-4", "during-5"];
      for (const id of during) await publish(id);
      // All five reached the hub and wait for the store, holding their in-flight slots.
      await until(async () => (await metric(hub, "chorus_mqtt_ingest_in_flight")) === 5);
      await until(async () => (await metric(hub, "chorus_mqtt_ingest_store_waits_total")) >= 5);
      expect((await api(hub, "/readyz", { key: null })).status).toBe(503);

      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
      await until(async () => (await storedIds()).length === 6);
      expect((await storedIds()).sort()).toEqual(["before", ...during].sort());
      expect(await metric(hub, "chorus_mqtt_ingest_in_flight")).toBe(0);
      expect(await metric(hub, "chorus_mqtt_ingest_dropped_total", '{reason="store_failed"}')).toBe(
        0,
      );
    } finally {
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`).catch(() => {});
      await admin.end();
      await client.endAsync();
    }
  });
});
