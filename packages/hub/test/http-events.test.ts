import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Hub } from "../src/index.js";
import { api, KEY_A_READONLY, startTestHub } from "./helpers.js";

const TRACE = "0123456789abcdef0123456789abcdef";

describe("POST /v1/events and GET /v1/events", () => {
  let hub: Hub;
  beforeAll(async () => {
    hub = await startTestHub();
  });
  afterAll(() => hub.close());

  it("accepts one event and fills the hub's defaults", async () => {
    const res = await api(hub, "/v1/events", {
      body: { channel: "single", type: "agent.start", agent: "researcher", payload: { n: 1 } },
    });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: 1, duplicates: 0, ids: [expect.any(String)] });

    const list = await api(hub, "/v1/events?channel=single");
    expect(list.status).toBe(200);
    expect(list.body.next).toBeUndefined();
    expect(list.body.data).toEqual([
      expect.objectContaining({
        id: res.body.ids[0],
        seq: expect.any(Number),
        channel: "single",
        env: "default",
        type: "agent.start",
        agent: "researcher",
        payload: { n: 1 },
        metadata: {},
        occurredAt: expect.any(String),
        receivedAt: expect.any(String),
      }),
    ]);
  });

  it("accepts a batch and deduplicates by id, in this batch and across retries", async () => {
    const events = [
      { id: "evt-1", channel: "batch", type: "tool.start" },
      { id: "evt-2", channel: "batch", type: "tool.end" },
      { id: "evt-1", channel: "batch", type: "tool.start" },
    ];
    const first = await api(hub, "/v1/events", { body: { events } });
    expect(first.status).toBe(202);
    expect(first.body).toEqual({ accepted: 2, duplicates: 1, ids: ["evt-1", "evt-2", "evt-1"] });

    const retry = await api(hub, "/v1/events", { body: { events: events.slice(0, 2) } });
    expect(retry.body).toEqual({ accepted: 0, duplicates: 2, ids: ["evt-1", "evt-2"] });

    const list = await api(hub, "/v1/events?channel=batch");
    expect(list.body.data.map((e: { id: string }) => e.id)).toEqual(["evt-1", "evt-2"]);
  });

  it("filters by every field and pages oldest first with a cursor", async () => {
    const events = Array.from({ length: 7 }, (_, i) => ({
      channel: "filters",
      type: i % 2 === 0 ? "llm.start" : "llm.end",
      agent: i < 4 ? "alpha" : "beta",
      app: "demo",
      env: i === 6 ? "prod" : "default",
      traceId: TRACE,
      intentId: i === 0 ? "intent-x" : undefined,
      payload: { i },
    }));
    expect((await api(hub, "/v1/events", { body: { events } })).status).toBe(202);

    const payloads = async (query: string) =>
      (await api(hub, `/v1/events?channel=filters&${query}`)).body.data.map(
        (e: { payload: { i: number } }) => e.payload.i,
      );

    expect(await payloads("type=llm.end")).toEqual([1, 3, 5]);
    expect(await payloads("agent=beta")).toEqual([4, 5, 6]);
    expect(await payloads("env=prod")).toEqual([6]);
    expect(await payloads("app=demo&agent=alpha&type=llm.start")).toEqual([0, 2]);
    expect(await payloads(`traceId=${TRACE}&limit=2`)).toEqual([0, 1]);
    expect(await payloads("intentId=intent-x")).toEqual([0]);
    expect(await payloads("app=other")).toEqual([]);

    const seen: number[] = [];
    let after: number | undefined;
    let pages = 0;
    do {
      const res = await api(
        hub,
        `/v1/events?channel=filters&limit=3${after === undefined ? "" : `&after=${after}`}`,
      );
      seen.push(...res.body.data.map((e: { payload: { i: number } }) => e.payload.i));
      after = res.body.next;
      pages++;
    } while (after !== undefined);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(pages).toBe(3);
  });

  it("lets a read-only key list", async () => {
    const res = await api(hub, "/v1/events?channel=single", { key: KEY_A_READONLY });
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(1);
  });

  it("counts ingested and duplicate events in /metrics", async () => {
    const text = (await api(hub, "/metrics", { key: null })).body as string;
    expect(text).toMatch(/chorus_events_ingested_total\{source="http"\} \d+/);
    expect(text).toMatch(/chorus_events_duplicate_total 3/);
    expect(text).toContain('route="/v1/events"');
    expect(text).not.toContain('route="/v1/events?');
  });
});
