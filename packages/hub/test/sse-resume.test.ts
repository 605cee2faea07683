import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Hub } from "../src/index.js";
import { api, startTestHub } from "./helpers.js";
import { authedEventSource, readSse, startRelay } from "./sse-helpers.js";

describe("SSE resume", () => {
  let hub: Hub;
  beforeAll(async () => {
    hub = await startTestHub();
  });
  afterAll(() => hub.close());

  it("survives forced disconnects while a writer keeps posting: no gap, no duplicate", async () => {
    const relay = await startRelay(hub);
    const received: { i: number; seq: number }[] = [];
    let opens = 0;
    let openedAt = 0;
    const es = authedEventSource(`${relay.url}/v1/channels/resume/stream?after=0`);
    es.addEventListener("open", () => {
      opens++;
      openedAt = received.length;
    });
    es.addEventListener("tick", (message) => {
      const event = JSON.parse(message.data);
      expect(message.lastEventId).toBe(String(event.seq));
      received.push({ i: event.payload.i, seq: event.seq });
      // Cut the connection twice, mid-stream, while the writer is still going.
      if (received.length === 40 || (opens === 2 && received.length === openedAt + 40))
        relay.drop();
    });

    // The writer runs until the reader has come back twice and then seen more live traffic,
    // so events keep arriving before, during and after each reconnect.
    let posted = 0;
    while (!(opens >= 3 && received.length >= openedAt + 30) && posted < 5000) {
      const events = [0, 1, 2].map(() => ({
        channel: "resume",
        type: "tick",
        payload: { i: posted++ },
      }));
      expect((await api(hub, "/v1/events", { body: { events } })).status).toBe(202);
      await new Promise((r) => setTimeout(r, 5));
    }
    await waitFor(() => received.length >= posted, 10_000);
    // Let any stray duplicate arrive before judging.
    await new Promise((r) => setTimeout(r, 100));
    es.close();
    await relay.close();

    expect(opens).toBeGreaterThanOrEqual(3);
    expect(received.map((r) => r.i)).toEqual(Array.from({ length: posted }, (_, i) => i));
    const seqs = received.map((r) => r.seq);
    expect(seqs.every((s, k) => k === 0 || s > (seqs[k - 1] ?? 0))).toBe(true);
  }, 30_000);

  it("replays after Last-Event-ID, which wins over ?after=", async () => {
    const { body } = await api(hub, "/v1/events", {
      body: {
        events: [1, 2, 3, 4].map((n) => ({
          id: `lei-${n}`,
          channel: "lei",
          type: "step",
          payload: { n },
        })),
      },
    });
    expect(body.accepted).toBe(4);
    const all = (await api(hub, "/v1/events?channel=lei")).body.data as { seq: number }[];
    const second = all[1]?.seq ?? 0;

    const byHeader = await readSse(hub, "/v1/channels/lei/stream?after=0", {
      headers: { "last-event-id": String(second) },
    });
    await byHeader.until(() => byHeader.frames.length >= 2);
    expect(byHeader.frames.map((f) => f.data.payload.n)).toEqual([3, 4]);

    const byQuery = await readSse(hub, `/v1/channels/lei/stream?after=${all[2]?.seq}`);
    await byQuery.until(() => byQuery.frames.length >= 1);
    expect(byQuery.frames.map((f) => f.data.payload.n)).toEqual([4]);

    // And both keep going live after the replay.
    await api(hub, "/v1/events", { body: { channel: "lei", type: "step", payload: { n: 5 } } });
    await byHeader.until(() => byHeader.frames.length >= 3);
    await byQuery.until(() => byQuery.frames.length >= 2);
    expect(byHeader.frames.map((f) => f.data.payload.n)).toEqual([3, 4, 5]);
    await byHeader.close();
    await byQuery.close();
  });

  it("a cursor beyond the newest stored event restarts from the beginning and says so", async () => {
    await api(hub, "/v1/events", { body: { channel: "ahead", type: "old" } });
    const far = "999999999999999";
    const stream = await readSse(hub, "/v1/channels/ahead/stream", {
      headers: { "last-event-id": far },
    });
    await stream.until(() => stream.frames.length >= 1);
    // Left at the far cursor, the stream would skip every event the store numbers up to it.
    expect(stream.readyAfter).toBe(0);
    expect(stream.raw).toContain(`"ahead":${far}`);
    await api(hub, "/v1/events", { body: { channel: "ahead", type: "new" } });
    await stream.until(() => stream.frames.length >= 2);
    expect(stream.frames.map((f) => f.event)).toEqual(["old", "new"]);
    await stream.close();
    // A cursor at the newest stored event is no cursor ahead: it resumes right there.
    const page = await api(hub, "/v1/events?channel=ahead");
    const newest = page.body.data.at(-1).seq as number;
    const resumed = await readSse(hub, "/v1/channels/ahead/stream", {
      headers: { "last-event-id": String(newest) },
    });
    await resumed.until(() => resumed.readyAfter !== undefined);
    expect(resumed.readyAfter).toBe(newest);
    expect(resumed.raw).not.toContain('"ahead"');
    await resumed.close();
  });

  it("a page asked for after a seq beyond the newest stored event says so", async () => {
    await api(hub, "/v1/events", { body: { channel: "ahead-page", type: "old" } });
    const intent = await api(hub, "/v1/intents", { body: { title: "ahead" } });
    const far = 999999999999999;
    for (const path of ["/v1/events?channel=ahead-page", `/v1/intents/${intent.body.id}/events`]) {
      const beyond = await api(hub, `${path}${path.includes("?") ? "&" : "?"}after=${far}`);
      expect(beyond.status).toBe(200);
      expect(beyond.body.data).toEqual([]);
      expect(beyond.body.ahead).toBe(far);
      // At the newest event (or anywhere below it) the cursor is a real one.
      const all = await api(hub, path);
      const newest = all.body.data.at(-1).seq as number;
      expect(all.body.ahead).toBeUndefined();
      const atTail = await api(hub, `${path}${path.includes("?") ? "&" : "?"}after=${newest}`);
      expect(atTail.body).toEqual({ data: [], epoch: all.body.epoch });
    }
  });

  it("without a resume point starts at the newest event", async () => {
    await api(hub, "/v1/events", { body: { channel: "fresh", type: "old" } });
    const stream = await readSse(hub, "/v1/channels/fresh/stream");
    await api(hub, "/v1/events", { body: { channel: "fresh", type: "new" } });
    await stream.until(() => stream.frames.length >= 1);
    expect(stream.frames.map((f) => f.event)).toEqual(["new"]);
    await stream.close();
  });
});

async function waitFor(predicate: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}
