import { MAX_JSON_DEPTH } from "@chorus/protocol";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Hub } from "../src/index.js";
import { api, KEY_A, startTestHub } from "./helpers.js";
import { connectMqtt, metric } from "./mqtt-helpers.js";

/** `levels` arrays inside one another, e.g. 3 → `[[[]]]`. */
const nested = (levels: number) => `${"[".repeat(levels)}${"]".repeat(levels)}`;

const INTENT = "json-depth-intent";

/** Every write route that reads a JSON body, with a body that is valid but for the nesting. */
const routes: { method: string; path: string; body: (deep: string) => string }[] = [
  {
    method: "POST",
    path: "/v1/events",
    body: (deep) => `{"channel":"c","type":"t","payload":{"deep":${deep}}}`,
  },
  {
    method: "POST",
    path: "/v1/events",
    body: (deep) => `{"events":[{"channel":"c","type":"t","payload":{"deep":${deep}}}]}`,
  },
  { method: "POST", path: "/v1/intents", body: (deep) => `{"title":"t","state":{"deep":${deep}}}` },
  { method: "PATCH", path: `/v1/intents/${INTENT}/state`, body: (deep) => `{"deep":${deep}}` },
  {
    method: "POST",
    path: `/v1/intents/${INTENT}/events`,
    body: (deep) => `{"text":"hi","payload":{"deep":${deep}}}`,
  },
  {
    method: "POST",
    path: `/v1/intents/${INTENT}/status`,
    body: (deep) => `{"status":"blocked","reason":${deep}}`,
  },
  { method: "POST", path: `/v1/intents/${INTENT}/assignees/a`, body: (deep) => deep },
  { method: "POST", path: "/v1/realtime/credentials", body: (deep) => `{"x":${deep}}` },
];

let hub: Hub;
beforeAll(async () => {
  hub = await startTestHub();
  expect((await api(hub, "/v1/intents", { body: { id: INTENT, title: "t" } })).status).toBe(201);
});
afterAll(async () => {
  await hub?.close();
});

describe("JSON nested too deep", () => {
  for (const levels of [5_000, 100_000]) {
    for (const route of routes) {
      test(`${route.method} ${route.path} with ${levels} levels is a 400, and the hub still serves`, async () => {
        const res = await api(hub, route.path, {
          method: route.method,
          body: route.body(nested(levels)),
        });
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe("validation_failed");
        expect(res.body.error.message).toContain(String(MAX_JSON_DEPTH));
        expect(res.body.error.details).toEqual({ maxDepth: MAX_JSON_DEPTH });
        const intent = await api(hub, `/v1/intents/${INTENT}`);
        expect(intent.status).toBe(200);
        expect(intent.body.version).toBe(1);
      });
    }
  }

  test("nesting up to the limit is accepted; brackets inside strings do not count", async () => {
    const atLimit = nested(MAX_JSON_DEPTH - 2); // the body and payload objects are 2 levels
    const brackets = "[".repeat(10_000);
    const res = await api(hub, "/v1/events", {
      body: `{"channel":"c","type":"t","payload":{"deep":${atLimit},"s":"${brackets}\\"["}}`,
    });
    expect(res.status).toBe(202);
    const over = nested(MAX_JSON_DEPTH - 1);
    const refused = await api(hub, "/v1/events", {
      body: `{"channel":"c","type":"t","payload":{"deep":${over}}}`,
    });
    expect(refused.status).toBe(400);
  });

  test("MQTT ingest drops a too-deep publish and keeps serving", async () => {
    const agent = await connectMqtt(hub.mqttUrl!, KEY_A);
    for (const levels of [5_000, 100_000]) {
      await agent.publishAsync(
        "chorus-in/acme",
        `{"channel":"mqtt-deep","type":"t","payload":{"deep":${nested(levels)}}}`,
        { qos: 1 },
      );
    }
    expect(await metric(hub, "chorus_mqtt_ingest_dropped_total", '{reason="too_deep"}')).toBe(2);
    await agent.publishAsync("chorus-in/acme", `{"channel":"mqtt-deep","type":"t"}`, { qos: 1 });
    expect(agent.connected).toBe(true);
    const page = await api(hub, "/v1/events?channel=mqtt-deep");
    expect(page.body.data).toHaveLength(1);
    await agent.endAsync();
  });
});
