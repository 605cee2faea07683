import type { Socket } from "node:net";
import { afterEach, describe, expect, test } from "vitest";
import type { Hub } from "../src/index.js";
import { api, KEY_A, KEY_B, startTestHub } from "./helpers.js";
import { eventually } from "./delivery-helpers.js";
import { collect, connectMqtt, metric } from "./mqtt-helpers.js";

let hub: Hub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

const big = (n: number) => "x".repeat(n);

describe("MQTT isolation", () => {
  test("a subscriber that stops reading holds back no one, of its org or another, and is dropped past its send buffer", async () => {
    // The write timeout is far beyond the test's: only the send-buffer bound may end the stuck one.
    hub = await startTestHub({
      delivery: { sendBufferBytes: 256 * 1024, writeTimeoutMs: 120_000 },
    });
    const stuck = await connectMqtt(hub.mqttUrl!, KEY_A);
    await stuck.subscribeAsync("chorus/acme/+/load/#");
    // Stop reading: the kernel's buffers fill, then the hub's writes to it stall.
    (stuck.stream as Socket).pause();

    const sameOrg = await connectMqtt(hub.mqttUrl!, KEY_A);
    const sameInbox = collect(sameOrg);
    await sameOrg.subscribeAsync("chorus/acme/+/load/#");
    const otherOrg = await connectMqtt(hub.wsUrl, KEY_B);
    const otherInbox = collect(otherOrg);
    await otherOrg.subscribeAsync("chorus/globex/+/other/#");

    // Far more than the stuck socket's buffers and aedes' in-flight window (100 messages).
    const batches = 30;
    for (let b = 0; b < batches; b++) {
      const res = await api(hub, "/v1/events", {
        body: {
          events: Array.from({ length: 10 }, (_, i) => ({
            channel: "load",
            type: "big",
            payload: { b, i, s: big(20_000) },
          })),
        },
      });
      expect(res.status).toBe(202);
      const other = await api(hub, "/v1/events", {
        key: KEY_B,
        body: { channel: "other", type: "tick", payload: { b } },
      });
      expect(other.status).toBe(202);
    }
    // Before isolation both of these waited for the stuck subscriber's drain timeout.
    const same = await sameInbox.next(batches * 10, 15_000);
    expect(same.map((m) => [m.body.payload.b, m.body.payload.i])).toEqual(
      Array.from({ length: batches * 10 }, (_, k) => [Math.floor(k / 10), k % 10]),
    );
    const other = await otherInbox.next(batches, 15_000);
    expect(other.map((m) => m.body.payload.b)).toEqual(
      Array.from({ length: batches }, (_, b) => b),
    );

    // The stuck one was disconnected by the hub (its paused socket cannot notice yet).
    expect(
      await metric(hub, "chorus_slow_consumer_drops_total", '{kind="mqtt",reason="buffer_full"}'),
    ).toBe(1);
    await eventually(async () => (await metric(hub as Hub, "chorus_mqtt_clients")) === 2);
    stuck.end(true);
    await sameOrg.endAsync();
    await otherOrg.endAsync();
  }, 30_000);
  test("a subscriber that keeps reading gets a burst larger than its send buffer in full: the hub's own queue is not the reader's backlog", async () => {
    hub = await startTestHub({ delivery: { sendBufferBytes: 64 * 1024 } });
    const reader = await connectMqtt(hub.mqttUrl!, KEY_A);
    const inbox = collect(reader);
    await reader.subscribeAsync("chorus/acme/+/burst/#");
    // One batch, about 300 KB: every message is handed to the broker in one tick, far past the
    // 64 KiB buffer, while the socket itself never holds more than the kernel has not taken.
    const res = await api(hub, "/v1/events", {
      body: {
        events: Array.from({ length: 300 }, (_, i) => ({
          channel: "burst",
          type: "tick",
          payload: { i, s: big(1_000) },
        })),
      },
    });
    expect(res.status).toBe(202);
    const got = await inbox.next(300, 15_000);
    expect(got.map((m) => m.body.payload.i)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(
      await metric(hub, "chorus_slow_consumer_drops_total", '{kind="mqtt",reason="buffer_full"}'),
    ).toBe(0);
    await reader.endAsync();
  }, 30_000);
  test("a client whose subscriptions overlap gets each event once, with the stored JSON", async () => {
    hub = await startTestHub();
    const reader = await connectMqtt(hub.mqttUrl!, KEY_A);
    const inbox = collect(reader);
    await reader.subscribeAsync(["chorus/acme/+/dup/#", "chorus/acme/default/dup/#"]);
    const res = await api(hub, "/v1/events", {
      body: {
        events: [0, 1, 2].map((i) => ({ channel: "dup", type: "tick", payload: { i } })),
      },
    });
    expect(res.status).toBe(202);
    const got = await inbox.next(3);
    expect(got.map((m) => m.body.payload.i)).toEqual([0, 1, 2]);
    expect(got[0]?.topic).toBe("chorus/acme/default/dup/_/tick/_");
    const last = await api(hub, "/v1/events", {
      body: { channel: "dup", type: "tick", payload: { i: 3 } },
    });
    expect(last.status).toBe(202);
    await inbox.next(4);
    expect(inbox.messages.map((m) => m.body.payload.i)).toEqual([0, 1, 2, 3]);
    await reader.endAsync();
  });
});
