import type { ChorusEvent } from "@chorus/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Hub } from "../src/index.js";
import { parseTraceparent } from "../src/http/traceparent.js";
import { api, startTestHub } from "./helpers.js";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT = "00f067aa0ba902b7";
const HEADER = `00-${TRACE}-${PARENT}-01`;

describe("traceparent on POST /v1/events", () => {
  let hub: Hub;
  beforeAll(async () => {
    hub = await startTestHub();
  });
  afterAll(async () => {
    await hub.close();
  });

  async function publish(body: unknown, traceparent: string | undefined): Promise<ChorusEvent[]> {
    const res = await api(hub, "/v1/events", {
      body,
      headers: traceparent === undefined ? {} : { traceparent },
    });
    expect(res.status).toBe(202);
    const events: ChorusEvent[] = [];
    for (const id of res.body.ids as string[]) {
      const page = await api(hub, `/v1/events?channel=tp&limit=1000`);
      const found = page.body.data.find((e: ChorusEvent) => e.id === id);
      expect(found).toBeDefined();
      events.push(found);
    }
    return events;
  }

  it("puts every event without a trace of its own into the header's trace", async () => {
    const own = { traceId: "1".repeat(32), spanId: "2".repeat(16) };
    const events = await publish(
      {
        events: [
          { channel: "tp", type: "note.a" },
          { channel: "tp", type: "note.b", spanId: "3".repeat(16) },
          { channel: "tp", type: "note.c", parentSpanId: "4".repeat(16) },
          { channel: "tp", type: "note.d", ...own },
        ],
      },
      HEADER,
    );
    expect(events.map((e) => [e.type, e.traceId, e.spanId, e.parentSpanId])).toEqual([
      ["note.a", TRACE, undefined, PARENT],
      ["note.b", TRACE, "3".repeat(16), PARENT],
      ["note.c", TRACE, undefined, "4".repeat(16)],
      ["note.d", own.traceId, own.spanId, undefined],
    ]);
  });

  it("applies to a single event too", async () => {
    const [event] = await publish({ channel: "tp", type: "note.single" }, ` ${HEADER} `);
    expect([event?.traceId, event?.parentSpanId]).toEqual([TRACE, PARENT]);
  });

  // W3C Trace Context: a receiver that cannot parse traceparent ignores it; the request stands.
  it.each([
    ["upper-case hex", `00-${TRACE.toUpperCase()}-${PARENT}-01`],
    ["all-zero trace id", `00-${"0".repeat(32)}-${PARENT}-01`],
    ["all-zero parent id", `00-${TRACE}-${"0".repeat(16)}-01`],
    ["version ff", `ff-${TRACE}-${PARENT}-01`],
    ["version 00 with trailing data", `${HEADER}-extra`],
    ["short trace id", `00-${TRACE.slice(2)}-${PARENT}-01`],
    ["garbage", "hello"],
    ["sent twice", `${HEADER}, ${HEADER}`],
  ])(
    "ignores an invalid header (%s) and stores the event without a trace",
    async (_what, header) => {
      const [event] = await publish({ channel: "tp", type: "note.invalid" }, header);
      expect(event?.traceId).toBeUndefined();
      expect(event?.parentSpanId).toBeUndefined();
    },
  );

  it("reads a later version's known prefix", () => {
    expect(parseTraceparent(`01-${TRACE}-${PARENT}-01-future`)).toEqual({
      traceId: TRACE,
      parentSpanId: PARENT,
    });
    expect(parseTraceparent(`01-${TRACE}-${PARENT}-01x`)).toBeUndefined();
    expect(parseTraceparent(["a", "b"])).toBeUndefined();
    expect(parseTraceparent(undefined)).toBeUndefined();
  });

  it("still refuses a batch whose events are invalid for other reasons", async () => {
    const res = await api(hub, "/v1/events", {
      body: { events: [{ channel: "tp", type: "note.ok" }, { channel: "tp" }] },
      headers: { traceparent: HEADER },
    });
    expect(res.status).toBe(400);
  });
});
