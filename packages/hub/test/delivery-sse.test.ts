import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Hub } from "../src/index.js";
import { eventually, metric, pausedSse } from "./delivery-helpers.js";
import { api, KEY_A, KEY_B, startTestHub } from "./helpers.js";
import { connectMqtt } from "./mqtt-helpers.js";
import { readSse } from "./sse-helpers.js";
import { freshDb, STORE_KIND } from "./store-under-test.js";

const hubs: Hub[] = [];
afterEach(async () => {
  await Promise.all(hubs.splice(0).map((h) => h.close()));
});
async function hubWith(options: Parameters<typeof startTestHub>[0] = {}) {
  const hub = await startTestHub(options);
  hubs.push(hub);
  return hub;
}

async function post(hub: Hub, events: object[]) {
  const res = await api(hub, "/v1/events", { body: { events } });
  expect(res.status).toBe(202);
}

/** Every seq stored on a channel, oldest first. */
async function storedSeqs(hub: Hub, channel: string): Promise<number[]> {
  const seqs: number[] = [];
  let after = 0;
  for (;;) {
    const { body } = await api(hub, `/v1/events?channel=${channel}&after=${after}&limit=1000`);
    seqs.push(...body.data.map((e: { seq: number }) => e.seq));
    if (body.next === undefined) return seqs;
    after = body.next;
  }
}

const big = (n: number) => "x".repeat(n);

/**
 * Replay reads the newest events from memory when the reader is close behind the tail, and the
 * store otherwise; a small cache makes one reader cross from the store into memory mid-replay.
 */
const REPLAY_SOURCES = [
  { source: "memory (the default cache)", replayCacheBytes: undefined },
  { source: "the store (cache off)", replayCacheBytes: 0 },
  { source: "the store, then memory (a 64 KiB cache)", replayCacheBytes: 64 * 1024 },
];

describe.each(REPLAY_SOURCES)("delivery: replay from $source", ({ replayCacheBytes }) => {
  it("joins replay to live under a concurrent burst: no gap, no duplicate, in order", async () => {
    const hub = await hubWith({ delivery: { replayCacheBytes } });
    await post(hub, [{ channel: "other", type: "noise" }]);
    const readers: Awaited<ReturnType<typeof readSse>>[] = [];
    const liveReaders: Awaited<ReturnType<typeof readSse>>[] = [];
    // Readers open at several points of the burst, each asking for everything from the start
    // (replay, then the seam), and one more starting live mid-burst.
    for (let batch = 0; batch < 40; batch++) {
      const events = Array.from({ length: 25 }, (_, i) => ({
        channel: "seam",
        type: "tick",
        payload: { batch, i, pad: big(batch % 3 === 0 ? 2000 : 10) },
      }));
      const writing = post(hub, events);
      if (batch % 8 === 3) {
        readers.push(
          await readSse(hub, "/v1/channels/seam/stream", { headers: { "last-event-id": "0" } }),
        );
        liveReaders.push(await readSse(hub, "/v1/channels/seam/stream"));
      }
      await writing;
    }
    const all = await storedSeqs(hub, "seam");
    expect(all).toHaveLength(1000);
    for (const reader of readers) {
      await reader.until(() => reader.frames.length >= all.length, 20_000);
      expect(reader.frames.map((f) => Number(f.id))).toEqual(all);
      await reader.close();
    }
    for (const reader of liveReaders) {
      const after = reader.readyAfter as number;
      const expected = all.filter((s) => s > after);
      await reader.until(() => reader.frames.length >= expected.length, 20_000);
      expect(reader.frames.map((f) => Number(f.id))).toEqual(expected);
      await reader.close();
    }
  }, 60_000);

  it("drops a consumer that stops reading, which then resumes from its cursor with nothing lost", async () => {
    const hub = await hubWith({ delivery: { sendBufferBytes: 64 * 1024, replayCacheBytes } });
    const stuck = await pausedSse(hub, "/v1/channels/slow/stream");
    await eventually(
      async () => (await metric(hub, "chorus_delivery_connections", { kind: "sse_live" })) === 1,
    );
    let sent = 0;
    // Large events fill the kernel's socket buffers, then the hub's bound.
    while (
      (await metric(hub, "chorus_slow_consumer_drops_total", { reason: "buffer_full" })) === 0
    ) {
      expect(sent).toBeLessThan(2000);
      await post(
        hub,
        Array.from({ length: 10 }, () => ({
          channel: "slow",
          type: "big",
          payload: { s: big(50_000) },
        })),
      );
      sent += 10;
    }
    const reading = stuck.resume();
    await reading.closed;
    const first = reading.read();
    const cursor = first.ids.at(-1) ?? (first.readyAfter as number);
    const all = await storedSeqs(hub, "slow");
    expect(first.ids).toEqual(all.slice(0, first.ids.length));
    // Resume as a client does: from the last id, again if the hub drops this reader too (on a
    // loaded machine the tail may still be delivering the burst when it goes live).
    const got = [...first.ids];
    let from = cursor;
    for (let attempt = 0; got.length < all.length; attempt++) {
      expect(attempt).toBeLessThan(50);
      const rest = await readSse(hub, "/v1/channels/slow/stream", {
        headers: { "last-event-id": String(from) },
      });
      await rest
        .until(() => got.length + rest.frames.length >= all.length, 20_000)
        .catch((error: unknown) => {
          if (!rest.ended) throw error; // stuck, not dropped
        });
      got.push(...rest.frames.map((f) => Number(f.id)));
      await rest.close();
      from = got.at(-1) ?? from;
    }
    expect(got).toEqual(all);
  }, 60_000);
});

describe("delivery: the shared tail", () => {
  it("keeps paused replay readers within the send buffer bound, and they still get everything", async () => {
    const cap = 128 * 1024;
    const hub = await hubWith({ delivery: { sendBufferBytes: cap } });
    // 10 MB: more than the kernel's socket buffers take from a reader that does not read.
    for (let b = 0; b < 25; b++) {
      await post(
        hub,
        Array.from({ length: 10 }, () => ({
          channel: "replay",
          type: "big",
          payload: { s: big(40_000) },
        })),
      );
    }
    const count = 6;
    const readers = await Promise.all(
      Array.from({ length: count }, () =>
        pausedSse(hub, "/v1/channels/replay/stream", { "last-event-id": "0" }),
      ),
    );
    await eventually(
      async () =>
        (await metric(hub, "chorus_delivery_connections", { kind: "sse_replay" })) === count,
    );
    // Live traffic while they are paused is held for the seam, within the same bound.
    await post(hub, [{ channel: "replay", type: "late", payload: { s: big(1000) } }]);
    let peak = 0;
    for (let i = 0; i < 20; i++) {
      peak = Math.max(peak, await metric(hub, "chorus_send_buffer_bytes", { kind: "sse" }));
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(peak).toBeGreaterThan(0);
    // Each holds at most its send buffer plus the frames kept for the seam (also capped).
    expect(peak).toBeLessThanOrEqual(count * 2 * cap);
    expect(await metric(hub, "chorus_delivery_connections", { kind: "sse_replay" })).toBe(count);
    expect(await metric(hub, "chorus_slow_consumer_drops_total")).toBe(0);
    const all = await storedSeqs(hub, "replay");
    expect(all).toHaveLength(251);
    // Resumed, each gets everything, the late event included, in order.
    const reading = readers.map((r) => r.resume());
    for (const r of reading) {
      await eventually(() => r.read().ids.length >= all.length);
      expect(r.read().ids).toEqual(all);
    }
  }, 60_000);

  it("reads history once for readers replaying it one after another, and each gets all of it", async () => {
    // History from before this hub started is in the store only (not among the tail's newest).
    const dir = mkdtempSync(join(tmpdir(), "chorus-replay-pages-"));
    try {
      const db = STORE_KIND === "sqlite" ? join(dir, "hub.db") : await freshDb();
      const writer = await startTestHub({ db });
      for (let b = 0; b < 6; b++) {
        await post(
          writer,
          Array.from({ length: 10 }, (_, i) => ({
            channel: "history",
            type: "big",
            payload: { n: b * 10 + i, s: big(20_000) },
          })),
        );
      }
      await post(writer, [{ channel: "elsewhere", type: "noise" }]);
      await writer.close();
      const hub = await hubWith({ db });
      const all = await storedSeqs(hub, "history");
      expect(all).toHaveLength(60);
      const replay = async () => {
        const reader = await readSse(hub, "/v1/channels/history/stream", {
          headers: { "last-event-id": "0" },
        });
        await reader.until(() => reader.frames.length >= all.length, 20_000);
        expect(reader.frames.map((f) => Number(f.id))).toEqual(all);
        expect(reader.frames.map((f) => f.data.payload.n)).toEqual(
          Array.from({ length: 60 }, (_, n) => n),
        );
        await reader.close();
      };
      await replay();
      // 1.2 MB in pages of 256 KiB: several reads, all but the last one whole.
      const pages = await metric(hub, "chorus_replay_pages_total", { source: "store" });
      expect(pages).toBeGreaterThan(2);
      expect(await metric(hub, "chorus_replay_pages_total", { source: "shared" })).toBe(0);
      // The whole pages are held, within half the replay cache (8 MiB by default).
      const held = await metric(hub, "chorus_replay_cache_bytes", { kind: "pages" });
      expect(held).toBeGreaterThan((pages - 1) * 200_000);
      expect(held).toBeLessThanOrEqual(8 * 1024 * 1024);
      await replay();
      await replay();
      // The whole pages came from memory; only the last one (where a reader joins the tail,
      // and new events may have arrived) was read again.
      expect(await metric(hub, "chorus_replay_pages_total", { source: "shared" })).toBe(
        2 * (pages - 1),
      );
      expect(await metric(hub, "chorus_replay_pages_total", { source: "store" })).toBe(pages + 2);
      // A filter of its own has pages of its own.
      const typed = await readSse(hub, "/v1/channels/history/stream?type=big", {
        headers: { "last-event-id": "0" },
      });
      await typed.until(() => typed.frames.length >= all.length, 20_000);
      expect(typed.frames.map((f) => Number(f.id))).toEqual(all);
      await typed.close();
      expect(await metric(hub, "chorus_replay_pages_total", { source: "store" })).toBe(
        2 * pages + 2,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it("sends an event's same JSON text live over SSE and MQTT, in replay and in the list", async () => {
    const hub = await hubWith({ delivery: { replayCacheBytes: 0 } });
    const live = await readSse(hub, "/v1/channels/text/stream");
    const mqtt = await connectMqtt(hub.mqttUrl as string, KEY_A);
    const texts: string[] = [];
    mqtt.on("message", (_topic, payload) => texts.push(payload.toString("utf8")));
    await mqtt.subscribeAsync("chorus/acme/+/text/#");
    const event = {
      channel: "text",
      type: "llm.end",
      app: "shop",
      agent: "writer",
      traceId: "0af7651916cd43dd8448eb211c80319c",
      spanId: "b7ad6b7169203331",
      parentSpanId: "00f067aa0ba902b7",
      payload: {
        text: 'line\nbreak, "quotes", \\ back, tab\t, ctrl \u0001, héllo 世界 🎉 \u2028',
        numbers: [0, 1.5, 1e21, 1e-7, -42],
        nested: { list: [true, null, { deep: "x" }], empty: {} },
      },
      metadata: { tags: ["a"] },
    };
    await post(hub, [event]);
    const { body } = await api(hub, "/v1/events?channel=text");
    const listed = JSON.stringify(body.data[0]);
    await live.until(() => live.frames.length === 1);
    await eventually(() => texts.length === 1);
    const replay = await readSse(hub, "/v1/channels/text/stream", {
      headers: { "last-event-id": "0" },
    });
    await replay.until(() => replay.frames.length === 1);
    // U+2028 stays raw in JSON text (and `.` would not match it): take the line up to \n.
    const dataLine = (raw: string) => /\nevent: llm\.end\ndata: ([^\n]*)\n\n/.exec(raw)?.[1];
    expect(dataLine(live.raw)).toBe(listed);
    expect(dataLine(replay.raw)).toBe(listed);
    expect(texts[0]).toBe(listed);
    expect(body.data[0]).toMatchObject({ ...event, seq: expect.any(Number) });
    // The list's body carries the same text, verbatim: `{"data":[<event>],"epoch":…}`.
    const res = await fetch(`${hub.url}/v1/events?channel=text`, {
      headers: { authorization: `Bearer ${KEY_A}` },
    });
    expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(await res.text()).toBe(
      JSON.stringify({ data: [JSON.parse(listed)], epoch: hub.store.epoch }),
    );
    await Promise.all([live.close(), replay.close(), mqtt.endAsync()]);
  });

  it("caps concurrent streams per key with a 429 and a clear error", async () => {
    const hub = await hubWith({ delivery: { maxStreamsPerKey: 2 } });
    const a = await readSse(hub, "/v1/channels/cap/stream");
    const b = await readSse(hub, "/v1/channels/cap/stream");
    expect(a.res.status).toBe(200);
    expect(b.res.status).toBe(200);
    const refused = await api(hub, "/v1/channels/cap/stream");
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe("rate_limited");
    expect(refused.body.error.message).toMatch(/2 open streams/);
    expect(refused.headers.get("retry-after")).toBe("5");
    // Another key has its own allowance.
    const other = await readSse(hub, "/v1/channels/cap/stream", { key: KEY_B });
    expect(other.res.status).toBe(200);
    await a.close();
    let again: Awaited<ReturnType<typeof readSse>> | undefined;
    await eventually(async () => {
      const attempt = await readSse(hub, "/v1/channels/cap/stream", { key: KEY_A });
      if (attempt.res.status === 200) again = attempt;
      else await attempt.close();
      return again !== undefined;
    });
    await Promise.all([b.close(), other.close(), again?.close()]);
  }, 30_000);
});
