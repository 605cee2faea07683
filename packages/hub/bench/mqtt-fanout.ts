import { eventTopic } from "@chorus/protocol";
import mqtt from "mqtt";
import { nowMs } from "./clock.js";
import { type BenchConfig, interleave } from "./config.js";
import { startHubChild } from "./hub-child.js";
import { KEY_A } from "./keys.js";
import { startMosquitto } from "./mosquitto.js";
import { batchBodies, makeEvents, postBodies, postJson } from "./publish.js";
import type { Receivers } from "./receivers-child.js";
import { fmt, median, spread, table, type Verdict } from "./stats.js";

const SUBSCRIBERS = 100;

/**
 * Hub→MQTT fan-out against Mosquitto: the same messages (the stored events' JSON, on their
 * canonical topic) to 100 mqtt.js subscribers in the receivers process. The hub takes them as
 * HTTP batches, stores and publishes them; Mosquitto gets them published by one mqtt.js client.
 * Rate = messages × subscribers / time from the first send to the last subscriber's last message.
 */
export async function mqttFanoutBench(config: BenchConfig, rx: Receivers): Promise<Verdict[]> {
  const count = config.quick ? 2_000 : 5_000;
  const hub = await startHubChild();
  const mosquitto = await startMosquitto();
  const rates: Record<"hub" | "mosquitto", number[]> = { hub: [], mosquitto: [] };
  const ratios: number[] = [];
  const notes: string[] = [];
  let complete = true;
  try {
    // The exact stored form of one bench event: Mosquitto carries byte-identical messages.
    await postJson(hub.url, KEY_A, JSON.stringify({ events: makeEvents(1, "shape", "mq-shape") }));
    const page = (await (
      await fetch(`${hub.url}/v1/events?channel=mq-shape&limit=1`, {
        headers: { authorization: `Bearer ${KEY_A}` },
      })
    ).json()) as { data: Record<string, unknown>[] };
    const shape = page.data[0] as Record<string, unknown>;
    const topic = eventTopic("acme", { channel: "mq", type: "tool.end", agent: "researcher" });
    await rx.mqtt("mq-hub", {
      url: hub.mqttUrl,
      key: KEY_A,
      topic: "chorus/acme/+/mq/#",
      n: SUBSCRIBERS,
    });
    await rx.mqtt("mq-mosquitto", {
      url: mosquitto.url,
      topic: "chorus/acme/+/mq/#",
      n: SUBSCRIBERS,
    });
    const publisher = await mqtt.connectAsync(mosquitto.url, { reconnectPeriod: 0 });
    let mosquittoSeq = 0;
    const sides = {
      hub: async (round: number) => {
        const bodies = batchBodies(makeEvents(count, `mq-${round}`, "mq"), 500);
        const start = nowMs();
        await postBodies(hub.url, KEY_A, bodies, 2);
        return start;
      },
      mosquitto: async (round: number) => {
        const messages = Array.from({ length: count }, (_, i) =>
          JSON.stringify({ ...shape, seq: ++mosquittoSeq, id: `mq-${round}-${i}` }),
        );
        const start = nowMs();
        for (const message of messages) publisher.publish(topic, message, { qos: 0 });
        return start;
      },
    };
    for (let round = 0; round < config.rounds; round++) {
      const got: Record<string, number> = {};
      for (const side of interleave(round, "hub", "mosquitto") as ("hub" | "mosquitto")[]) {
        const group = `mq-${side}`;
        await rx.reset(group);
        await rx.expect(group, count);
        const start = await sides[side](round);
        const stats = await rx.settle(group, count, 120_000);
        const ok = stats.min === count && stats.errors === 0;
        complete &&= ok;
        if (!ok)
          notes.push(
            `${side} round ${round}: ${stats.min}–${stats.max}/${count}, ${stats.errors} out of order`,
          );
        const rate = ((count * SUBSCRIBERS) / ((stats.doneAt ?? nowMs()) - start)) * 1000;
        rates[side].push(rate);
        got[side] = rate;
      }
      ratios.push((got.hub as number) / (got.mosquitto as number));
    }
    await publisher.endAsync();
    await rx.close("mq-hub");
    await rx.close("mq-mosquitto");
  } finally {
    await hub.close();
    await mosquitto.close();
  }
  console.log(
    `\n### MQTT fan-out: ${fmt(count)} messages to ${SUBSCRIBERS} subscribers, hub vs Mosquitto, ${config.rounds} interleaved rounds\n`,
  );
  console.log(
    table(
      ["broker", "deliveries/s", "ratio to Mosquitto"],
      [
        ["Mosquitto (Debian), one mqtt.js publisher", spread(rates.mosquitto), "1.00"],
        ["hub: HTTP batches of 500 → SQLite → MQTT", spread(rates.hub), `**${spread(ratios, 2)}**`],
      ],
    ),
  );
  if (notes.length > 0) console.log(`\nIncomplete: ${notes.join("; ")}`);
  return [
    {
      target: "hub→MQTT fan-out to 100 subscribers ≥ 1.0× Mosquitto",
      figure: `${spread(ratios, 2)}×${complete ? "" : " (not every message delivered)"}`,
      met: complete && median(ratios) >= 1,
    },
  ];
}
