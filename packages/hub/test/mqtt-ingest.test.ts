import { afterEach, beforeEach, describe, expect, test } from "vitest";
import type { Hub } from "../src/index.js";
import { KEY_A, ORG_A, startTestHub } from "./helpers.js";
import { collect, connectMqtt, metric, sleep } from "./mqtt-helpers.js";

let hub: Hub;
beforeEach(async () => {
  hub = await startTestHub();
});
afterEach(async () => {
  await hub.close();
});

const stored = async () => (await hub.store.listEvents(ORG_A, {}, { limit: 100 })).data;
const dropped = (reason: string) =>
  metric(hub, "chorus_mqtt_ingest_dropped_total", `{reason="${reason}"}`);

describe("MQTT ingest on chorus-in/{org}/", () => {
  test("a publish on a full ingest topic is stored with the topic's fields and republished canonically", async () => {
    const watcher = await connectMqtt(hub.wsUrl, KEY_A);
    const inbox = collect(watcher);
    await watcher.subscribeAsync("chorus/acme/+/research/#");
    const agent = await connectMqtt(hub.mqttUrl!, KEY_A);

    // QoS 1: the PUBACK comes once the event is stored.
    await agent.publishAsync(
      "chorus-in/acme/default/research/demo/tool.start/researcher",
      JSON.stringify({ id: "evt-1", payload: { tool: "search" } }),
      { qos: 1 },
    );

    const [row] = await stored();
    expect(row).toMatchObject({
      id: "evt-1",
      env: "default",
      channel: "research",
      app: "demo",
      type: "tool.start",
      agent: "researcher",
      payload: { tool: "search" },
    });
    const [msg] = await inbox.next();
    expect(msg!.topic).toBe("chorus/acme/default/research/demo/tool.start/researcher");
    expect(msg!.body).toEqual(row);
    expect(await metric(hub, "chorus_events_ingested_total", '{source="mqtt"}')).toBe(1);
    await Promise.all([watcher.endAsync(), agent.endAsync()]);
  });

  test("a batch on a short ingest topic is stored whole; a retried id is a duplicate, not a second row", async () => {
    const agent = await connectMqtt(hub.mqttUrl!, KEY_A);
    const batch = {
      events: [
        { id: "a", channel: "research", type: "agent.start" },
        { id: "b", channel: "research", type: "agent.end", agent: "x" },
      ],
    };
    await agent.publishAsync("chorus-in/acme", JSON.stringify(batch), { qos: 1 });
    await agent.publishAsync("chorus-in/acme", JSON.stringify(batch), { qos: 1 });
    expect((await stored()).map((e) => e.id)).toEqual(["a", "b"]);
    expect(await metric(hub, "chorus_events_duplicate_total")).toBe(2);
    await agent.endAsync();
  });

  test("bad payloads are dropped and counted; the publisher stays connected and the broker keeps serving", async () => {
    const watcher = await connectMqtt(hub.wsUrl, KEY_A);
    const inbox = collect(watcher);
    await watcher.subscribeAsync("chorus/acme/#");
    const agent = await connectMqtt(hub.mqttUrl!, KEY_A);
    const publish = (topic: string, body: string) => agent.publishAsync(topic, body, { qos: 1 });

    await publish("chorus-in/acme", "{not json");
    await publish("chorus-in/acme", JSON.stringify({ type: "custom" })); // no channel
    await publish(
      "chorus-in/acme",
      JSON.stringify({ events: [{ channel: "ok", type: "custom" }, { channel: "" }] }),
    );
    await publish("chorus-in/acme", JSON.stringify({ events: [] }));
    await publish(
      "chorus-in/acme",
      JSON.stringify({ channel: "c", type: "custom", payload: { big: "x".repeat(300_000) } }),
    );
    // The body contradicts its own topic: refused rather than guessed at.
    await publish(
      "chorus-in/acme/default/research/_/custom/_",
      JSON.stringify({ channel: "billing" }),
    );

    expect(await stored()).toEqual([]);
    expect(await dropped("invalid_json")).toBe(1);
    expect(await dropped("invalid_event")).toBe(3);
    expect(await dropped("too_large")).toBe(1);
    expect(await dropped("topic_conflict")).toBe(1);
    expect(agent.connected).toBe(true);

    await publish(
      "chorus-in/acme/default/research/_/custom/_",
      JSON.stringify({ channel: "research" }),
    );
    const [msg] = await inbox.next();
    expect(msg!.topic).toBe("chorus/acme/default/research/_/custom/_");
    await sleep(100);
    expect(inbox.messages).toHaveLength(1);
    await Promise.all([watcher.endAsync(), agent.endAsync()]);
  });
});
