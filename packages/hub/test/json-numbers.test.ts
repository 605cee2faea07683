import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Hub } from "../src/index.js";
import { api, KEY_A, startTestHub } from "./helpers.js";
import { connectMqtt, metric } from "./mqtt-helpers.js";

/*
 * A JSON number beyond a double (`1e400`) parses to Infinity, which every later serialization
 * writes as `null`: an event's payload lost the value, and a merge patch `{"keep":1e400}` was
 * answered 200 while its log event said `{"keep":null}`, a delete. Refused with a 400 instead.
 */

const INTENT = "json-numbers-intent";
let hub: Hub;
beforeAll(async () => {
  hub = await startTestHub();
  const created = await api(hub, "/v1/intents", {
    body: { id: INTENT, title: "t", state: { keep: 1 } },
  });
  expect(created.status).toBe(201);
});
afterAll(async () => {
  await hub?.close();
});

const huge = ["1e400", "-1e400", "1E+999", "2.5e309", "9".repeat(400)];

describe("numbers too large for a double", () => {
  test("a merge patch carrying one is a 400 and changes nothing", async () => {
    for (const n of huge) {
      const res = await api(hub, `/v1/intents/${INTENT}/state`, {
        method: "PATCH",
        body: `{"keep":${n}}`,
      });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("validation_failed");
      expect(res.body.error.message).toContain("too large");
    }
    const intent = await api(hub, `/v1/intents/${INTENT}`);
    expect(intent.body).toMatchObject({ version: 1, state: { keep: 1 } });
    const log = await api(hub, `/v1/intents/${INTENT}/events`);
    expect(log.body.data.map((e: { type: string }) => e.type)).toEqual(["intent.created"]);
  });

  test("an event carrying one is a 400 and nothing is stored", async () => {
    for (const n of huge) {
      const res = await api(hub, "/v1/events", {
        body: `{"events":[{"channel":"nums","type":"ok.first"},{"channel":"nums","type":"t","payload":{"big":${n}}}]}`,
      });
      expect(res.status).toBe(400);
    }
    expect((await api(hub, "/v1/events?channel=nums")).body.data).toEqual([]);
  });

  test("numbers a double holds pass as they are, exponents and all; strings are never read as numbers", async () => {
    const payload = `{"a":1e10,"b":2.5E-3,"c":1e308,"d":-0.5e-320,"e":true,"f":false,"g":"1e999","h":"${"9".repeat(400)}"}`;
    const res = await api(hub, "/v1/events", {
      body: `{"channel":"nums-ok","type":"t","payload":${payload}}`,
    });
    expect(res.status).toBe(202);
    const [event] = (await api(hub, "/v1/events?channel=nums-ok")).body.data;
    expect(event.payload).toEqual({
      a: 1e10,
      b: 2.5e-3,
      c: 1e308,
      d: -0.5e-320,
      e: true,
      f: false,
      g: "1e999",
      h: "9".repeat(400),
    });
  });

  test("MQTT ingest drops such a publish as invalid and keeps serving", async () => {
    const agent = await connectMqtt(hub.mqttUrl!, KEY_A);
    await agent.publishAsync(
      "chorus-in/acme",
      `{"channel":"mqtt-nums","type":"t","payload":{"big":1e400}}`,
      { qos: 1 },
    );
    expect(await metric(hub, "chorus_mqtt_ingest_dropped_total", '{reason="invalid_json"}')).toBe(
      1,
    );
    await agent.publishAsync("chorus-in/acme", `{"channel":"mqtt-nums","type":"t"}`, { qos: 1 });
    expect((await api(hub, "/v1/events?channel=mqtt-nums")).body.data).toHaveLength(1);
    await agent.endAsync();
  });
});
