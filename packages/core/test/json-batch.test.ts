import { afterEach, describe, expect, it } from "vitest";
import type { FetchFunction } from "../src/index.js";
import { EventBatchBody } from "../src/json-batch.js";
import { DeliveryQueue } from "../src/queue.js";
import { client, closeAll, fakeHub } from "./helpers.js";

afterEach(closeAll);

const queue = new DeliveryQueue({ maxEvents: 1e6, maxBytes: 1e9 });
/** An event queued as the client queues it, with its JSON for comparison. */
const serialized = (value: unknown) => {
  const json = JSON.stringify(value);
  queue.push("id", json, Buffer.byteLength(json));
  return { json, ...(queue.take(1, 1e9)[0] as NonNullable<ReturnType<typeof queue.take>[0]>) };
};

describe("EventBatchBody", () => {
  it("writes the same UTF-8 as encoding the text form, multi-byte characters included", () => {
    const events = [
      serialized({ type: "custom", payload: { text: "plain" } }),
      serialized({ type: "custom", payload: { text: "héllo wörld ✓ 日本語 🦜🦜" } }),
      serialized({ type: "custom", payload: { text: '\u2028 and \\ and "quotes"' } }),
    ];
    const body = new EventBatchBody(events);
    const text = body.text();
    expect(JSON.parse(text)).toEqual({ events: events.map((e) => JSON.parse(e.json)) });
    expect(Buffer.from(body.bytes()).equals(Buffer.from(text, "utf8"))).toBe(true);
    expect(new EventBatchBody([events[1]!]).text()).toBe(`{"events":[${events[1]!.json}]}`);
  });
});

describe("delivery of a batch", () => {
  it("the hub receives every event intact, multi-byte text included", async () => {
    const hub = await fakeHub((_req, res) => res.writeHead(202).end('{"ids":[]}'));
    try {
      const chorus = client({ url: hub.url });
      const texts = ["ascii", "ünïcödé", "🦜 parrot", "日本語"];
      for (const text of texts) chorus.emit({ type: "custom", payload: { text } });
      expect(await chorus.flush(5000)).toBe(true);
      const received = hub.requests.flatMap(
        (r) => (JSON.parse(r.body) as { events: { payload: { text: string } }[] }).events,
      );
      expect(received.map((e) => e.payload.text)).toEqual(texts);
    } finally {
      await hub.close();
    }
  });

  it("a fetch given in the options gets the batch as text, as before", async () => {
    const hub = await fakeHub((_req, res) => res.writeHead(202).end('{"ids":[]}'));
    try {
      const bodies: unknown[] = [];
      const recording: FetchFunction = (input, init) => {
        bodies.push(init?.body);
        return fetch(input, init);
      };
      const chorus = client({ url: hub.url, fetch: recording });
      chorus.emit({ type: "custom", payload: { text: "é" } });
      expect(await chorus.flush(5000)).toBe(true);
      expect(bodies).toHaveLength(1);
      expect(typeof bodies[0]).toBe("string");
      expect(JSON.parse(bodies[0] as string).events[0].payload).toEqual({ text: "é" });
    } finally {
      await hub.close();
    }
  });
});
