import type { ServerResponse } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { resolveOptions } from "../src/options.js";
import { client, closeAll, type FakeHub, fakeHub, refusedPort, waitFor } from "./helpers.js";

// A client given several hubs (`url: [A, B]`): hand-written servers, one refusing or failing,
// one answering. The KILL -9 test with real hubs on one Postgres is in packages/hub
// (failover.postgres.test.ts).

const fakes: FakeHub[] = [];
afterEach(async () => {
  await closeAll();
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

const json = (res: ServerResponse, status: number, body: unknown) =>
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
const accept = (res: ServerResponse, body: string) => {
  const ids = (JSON.parse(body) as { events: { id: string }[] }).events.map((e) => e.id);
  json(res, 202, { accepted: ids.length, duplicates: 0, ids });
};
const unavailable = { error: { code: "unavailable", message: "store down" } };
const idsOf = (hub: FakeHub) =>
  hub.requests
    .filter((r) => r.path === "/v1/events" && r.method === "POST")
    .flatMap((r) => (JSON.parse(r.body) as { events: { id: string }[] }).events.map((e) => e.id));

async function fake(handler: Parameters<typeof fakeHub>[0]): Promise<FakeHub> {
  const hub = await fakeHub(handler);
  fakes.push(hub);
  return hub;
}
const answering = () =>
  fake((req, res, body) => {
    if (req.method === "POST") accept(res, body);
    else json(res, 200, { data: [{ seq: 1 }] });
  });

describe("url list", () => {
  it("takes a list or a comma-separated string (CHORUS_URL too), in order, without duplicates", () => {
    const list = resolveOptions({ url: ["http://a:1/v1", " http://b:2/ ", "http://a:1"] }, {});
    expect(list.options.url).toBe("http://a:1,http://b:2");
    const env = resolveOptions({}, { CHORUS_URL: "http://a:1,,http://b:2" });
    expect(env.options.url).toBe("http://a:1,http://b:2");
    const single = resolveOptions({ url: "http://a:1/" }, {});
    expect(single.options.url).toBe("http://a:1");
    expect([list.problems, env.problems, single.problems]).toEqual([[], [], []]);
  });

  it("refuses a list with a URL that is not http(s), with a warning, as it refuses one URL", () => {
    const bad = resolveOptions({ url: "a:1,http://b:2" }, {});
    expect(bad.options.url).toBe("http://127.0.0.1:7420");
    expect(bad.problems).toEqual([
      'url "a:1,http://b:2" is invalid; using "http://127.0.0.1:7420"',
    ]);
  });
});

describe("failover between hubs", () => {
  it("sends to the next hub at once when the first refuses, without opening the circuit", async () => {
    const dead = `http://127.0.0.1:${await refusedPort()}`;
    const b = await answering();
    // A threshold of 1: a single failure counted would open the circuit.
    const chorus = client({ url: [dead, b.url], circuitFailureThreshold: 1 });
    const first = Array.from({ length: 5 }, (_, i) =>
      chorus.emit({ type: "custom", payload: { i } }),
    );
    expect(await chorus.flush(5000)).toBe(true);
    const second = Array.from({ length: 5 }, (_, i) =>
      chorus.emit({ type: "custom", payload: { i } }),
    );
    expect(await chorus.flush(5000)).toBe(true);
    expect(idsOf(b)).toEqual([...first, ...second]);
    expect(chorus.stats()).toMatchObject({ sent: 10, retried: 0, failed: 0, circuit: "closed" });
    // Awaited calls use the hub that answers too.
    expect(await chorus.events.list({ channel: "default" })).toMatchObject({ data: [{ seq: 1 }] });
  });

  it("moves on from a hub answering 503 at once and stays on the next", async () => {
    const a = await fake((_req, res) => json(res, 503, unavailable));
    const b = await answering();
    const chorus = client({ url: [a.url, b.url], circuitFailureThreshold: 1 });
    const ids = [chorus.emit({ type: "custom" }), chorus.emit({ type: "custom" })];
    expect(await chorus.flush(5000)).toBe(true);
    const more = chorus.emit({ type: "custom" });
    expect(await chorus.flush(5000)).toBe(true);
    expect(a.requests).toHaveLength(1);
    expect(idsOf(b)).toEqual([...ids, more]);
    expect(chorus.stats()).toMatchObject({ sent: 3, failed: 0, circuit: "closed" });
  });

  it("sends a batch a 500 may have applied to the next hub at once, with the same ids", async () => {
    const a = await fake((_req, res) =>
      json(res, 500, { error: { code: "internal", message: "x" } }),
    );
    const b = await answering();
    const chorus = client({ url: [a.url, b.url], circuitFailureThreshold: 2 });
    const ids = [chorus.emit({ type: "custom" }), chorus.emit({ type: "custom" })];
    expect(await chorus.flush(5000)).toBe(true);
    expect(idsOf(a)).toEqual(ids);
    expect(idsOf(b)).toEqual(ids); // the hub dedupes by id: a retry cannot store twice
    expect(chorus.stats()).toMatchObject({ sent: 2, failed: 0, circuit: "closed" });
  });

  it("opens the circuit when every hub is down, and never throws into the caller", async () => {
    const urls = [
      `http://127.0.0.1:${await refusedPort()}`,
      `http://127.0.0.1:${await refusedPort()}`,
    ];
    const chorus = client({ url: urls, circuitFailureThreshold: 2, maxRetries: 0 });
    // fail-open: an empty page, no throw
    expect(await chorus.events.list({ channel: "default" })).toEqual({ data: [] });
    expect(chorus.stats().circuit).toBe("closed"); // one failure: both hubs refused one call
    expect(await chorus.events.list({ channel: "default" })).toEqual({ data: [] });
    expect(chorus.stats().circuit).toBe("open");
    expect(() => chorus.emit({ type: "custom" })).not.toThrow();
  });

  it("resumes a stream on the next hub from its last seq when its hub goes away", async () => {
    const sse = (res: ServerResponse) =>
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    const frame = (seq: number) =>
      `id: ${seq}\nevent: custom\ndata: ${JSON.stringify({ seq, type: "custom" })}\n\n`;
    const a = await fake((_req, res) => {
      sse(res);
      res.write(`id: 0\nevent: chorus.ready\ndata: {"epoch":"e1"}\n\n${frame(1)}${frame(2)}`);
      // the hub dies: its sockets drop and its port refuses
      setTimeout(() => void a.close(), 50);
    });
    const lastEventIds: (string | undefined)[] = [];
    const b = await fake((req, res) => {
      const after = req.headers["last-event-id"];
      lastEventIds.push(typeof after === "string" ? after : undefined);
      sse(res);
      res.write(
        `id: ${after}\nevent: chorus.ready\ndata: {"epoch":"e1"}\n\n${frame(3)}${frame(4)}`,
      );
    });
    const chorus = client({ url: [a.url, b.url] });
    const stream = chorus.stream.channel("default");
    const seqs: number[] = [];
    for await (const event of stream) {
      seqs.push(event.seq as number);
      if (seqs.length === 4) break;
    }
    expect(seqs).toEqual([1, 2, 3, 4]);
    expect(lastEventIds).toEqual(["2"]);
    expect(b.requests[0]?.path).toBe("/v1/channels/default/stream");
    await waitFor(() => !stream.connected);
  });
});
