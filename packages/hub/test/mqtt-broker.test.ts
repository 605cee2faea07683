import { eventTopic } from "@chorus/protocol";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import WebSocket from "ws";
import type { Hub } from "../src/index.js";
import { api, KEY_A, KEY_B, ORG_A, startTestHub } from "./helpers.js";
import { closed, collect, connectMqtt, metric, sleep } from "./mqtt-helpers.js";

let hub: Hub;
beforeEach(async () => {
  hub = await startTestHub();
});
afterEach(async () => {
  await hub.close();
});

const research = {
  channel: "research",
  type: "tool.start",
  agent: "researcher",
  app: "demo",
  payload: { q: "mqtt" },
};

describe("embedded broker", () => {
  test("an event posted over HTTP arrives on its canonical topic over TCP, with the stored JSON", async () => {
    const client = await connectMqtt(hub.mqttUrl!, KEY_A);
    const inbox = collect(client);
    await client.subscribeAsync("chorus/acme/+/research/#");

    const res = await api(hub, "/v1/events", { body: research });
    expect(res.status).toBe(202);

    const [msg] = await inbox.next();
    expect(msg!.topic).toBe("chorus/acme/default/research/demo/tool.start/researcher");
    expect(msg!.body).toMatchObject({ ...research, id: res.body.ids[0], env: "default" });
    expect(msg!.body.seq).toBeTypeOf("number");
    expect(msg!.body.receivedAt).toBeTypeOf("string");
    await client.endAsync();
  });

  test("WebSocket clients at /mqtt get the same messages; each filter gets only what it matches", async () => {
    const ws = await connectMqtt(hub.wsUrl, KEY_A);
    const tcp = await connectMqtt(hub.mqttUrl!, KEY_A);
    const wsInbox = collect(ws);
    const tcpInbox = collect(tcp);
    await ws.subscribeAsync("chorus/acme/+/+/+/tool.end/+");
    await tcp.subscribeAsync("chorus/acme/+/research/#");

    await api(hub, "/v1/events", {
      body: {
        events: [
          research,
          { channel: "billing", type: "tool.end", payload: {} },
          { channel: "research", type: "tool.end", agent: "50%", payload: {} },
        ],
      },
    });

    const wsGot = await wsInbox.next(2);
    expect(wsGot.map((m) => m.topic)).toEqual([
      "chorus/acme/default/billing/_/tool.end/_",
      "chorus/acme/default/research/_/tool.end/50%25",
    ]);
    const tcpGot = await tcpInbox.next(2);
    expect(tcpGot.map((m) => m.body.type)).toEqual(["tool.start", "tool.end"]);
    expect(tcpGot[1]!.body.agent).toBe("50%");
    await sleep(100);
    expect(wsInbox.messages).toHaveLength(2);
    expect(tcpInbox.messages).toHaveLength(2);
    await Promise.all([ws.endAsync(), tcp.endAsync()]);
  });

  test("an org's subscriber never sees another org's events", async () => {
    const a = await connectMqtt(hub.mqttUrl!, KEY_A);
    const inbox = collect(a);
    await a.subscribeAsync("chorus/acme/#");
    await api(hub, "/v1/events", { key: KEY_B, body: research });
    await api(hub, "/v1/events", { body: { ...research, agent: "mine" } });
    const [msg] = await inbox.next();
    expect(msg!.body.agent).toBe("mine");
    await sleep(100);
    expect(inbox.messages).toHaveLength(1);
    await a.endAsync();
  });

  test("the connected-clients gauge follows connects and disconnects", async () => {
    const client = await connectMqtt(hub.wsUrl, KEY_A);
    expect(await metric(hub, "chorus_mqtt_clients")).toBe(1);
    await client.endAsync();
    await sleep(50);
    expect(await metric(hub, "chorus_mqtt_clients")).toBe(0);
  });

  test("other WebSocket paths are not taken over by the broker", async () => {
    const ws = new WebSocket(`${hub.url.replace("http", "ws")}/not-mqtt`, "mqtt");
    const outcome = await new Promise<string>((resolve) => {
      ws.on("open", () => resolve("open"));
      ws.on("unexpected-response", (_req, res) => resolve(`status ${res.statusCode}`));
      ws.on("error", (e) => resolve(`error ${e.message}`));
    });
    expect(outcome).not.toBe("open");
    ws.terminate();
  });

  test("closing the hub disconnects clients and is idempotent", async () => {
    const client = await connectMqtt(hub.wsUrl, KEY_A);
    const tcp = await connectMqtt(hub.mqttUrl!, KEY_A);
    const done = Promise.all([closed(client), closed(tcp)]);
    await Promise.all([hub.close(), hub.close()]);
    await done;
  });
});

describe("without a TCP listener", () => {
  test("mqttPort: false serves WebSocket only", async () => {
    const wsOnly = await startTestHub({ mqttPort: false });
    try {
      expect(wsOnly.mqttPort).toBeUndefined();
      expect(wsOnly.mqttUrl).toBeUndefined();
      const client = await connectMqtt(wsOnly.wsUrl, KEY_A);
      const inbox = collect(client);
      await client.subscribeAsync("chorus/acme/#");
      await api(wsOnly, "/v1/events", { body: research });
      const [msg] = await inbox.next();
      expect(msg!.topic).toBe(eventTopic(ORG_A, research));
      await client.endAsync();
    } finally {
      await wsOnly.close();
    }
  });
});
