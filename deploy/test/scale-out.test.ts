import { Chorus, type ChorusEvent } from "@chorus/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemTool } from "../../test/system-tools.js";
import { postgresBinDir } from "../../packages/hub/test/pg-bin.js";
import {
  have,
  KEY,
  metric,
  nginxBinary,
  startTopology,
  type HubProcess,
  type Topology,
} from "./topology.js";

// deploy/compose.yaml's topology from processes: Postgres, Mosquitto (dynsec), three hubs,
// nginx from the same template. Under CI (`.ci/run` installs all three) a missing program fails.
const nginx = nginxBinary();
const runs = systemTool(
  "the deploy topology tests (Postgres, Mosquitto, nginx)",
  nginx !== undefined && postgresBinDir() !== undefined && have("mosquitto", ["-h"]),
  "apt-get install postgresql mosquitto nginx",
);

let topology: Topology;
const clients: Chorus[] = [];
const client = (url: string | string[]) => {
  const chorus = new Chorus({
    url,
    apiKey: KEY,
    logger: false,
    drainOnExit: false,
    flushIntervalMs: 10,
    maxBatchSize: 20,
    retryBaseDelayMs: 50,
    retryMaxDelayMs: 500,
    timeoutMs: 5000,
  });
  clients.push(chorus);
  return chorus;
};

/** Every stored event of a channel, oldest first, read from `hub`. */
async function stored(hub: string, channel: string): Promise<{ id: string; seq: number }[]> {
  const out: { id: string; seq: number }[] = [];
  let after = 0;
  for (;;) {
    const res = await fetch(`${hub}/v1/events?channel=${channel}&limit=1000&after=${after}`, {
      headers: { authorization: `Bearer ${KEY}` },
    });
    const page = (await res.json()) as { data: { id: string; seq: number }[]; next?: number };
    out.push(...page.data);
    if (page.next === undefined) return out;
    after = page.next;
  }
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 60_000) {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Read a stream into an array, in arrival order. */
function collect(chorus: Chorus, channel: string) {
  const stream = chorus.stream.channel(channel);
  const events: ChorusEvent[] = [];
  void (async () => {
    for await (const event of stream) events.push(event);
  })();
  return { stream, events };
}

/**
 * Emit `total` events one every few ms through `chorus`, running `during` after `at` of them;
 * returns the ids in emit order once all are flushed.
 */
async function emitWith(
  chorus: Chorus,
  channel: string,
  total: number,
  at: number,
  during: () => Promise<void>,
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < total; i++) {
    if (i === at) await during();
    ids.push(chorus.emit({ channel, type: "custom", payload: { i } }) as string);
    await new Promise((r) => setTimeout(r, 5));
  }
  expect(await chorus.flush(60_000)).toBe(true);
  return ids;
}

/** The stream saw exactly what was stored, in seq order, and the store holds each id once. */
function expectExactly(seen: ChorusEvent[], rows: { id: string; seq: number }[], ids: string[]) {
  expect(rows.map((r) => r.id).sort()).toEqual([...ids].sort()); // each emitted id stored once
  const seqs = rows.map((r) => r.seq);
  expect(seen.map((e) => e.seq)).toEqual(seqs); // no gap, no duplicate, in order
  expect(seen.map((e) => e.id)).toEqual(rows.map((r) => r.id));
}

describe.runIf(runs)("the deploy topology from processes", () => {
  beforeAll(async () => {
    topology = await startTopology(nginx as string);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close(2000)));
    await topology?.close();
  });

  it("events posted through nginx to any hub reach an SSE reader on one hub and an MQTT subscriber on the broker", async () => {
    const [, , third] = topology.hubs as [HubProcess, HubProcess, HubProcess];
    const reader = collect(client(third.url), "e2e");
    await until("the SSE reader", () => reader.stream.connected);
    const subscriber = client(topology.nginx.url);
    const received: ChorusEvent[] = [];
    // Credentials from a hub behind nginx, provisioned in Mosquitto's dynamic security.
    await subscriber.realtime.subscribe({ channel: "e2e" }, (event) => {
      received.push(event);
    });
    const publisher = client(topology.nginx.url);
    const ids = Array.from(
      { length: 60 },
      (_, i) => publisher.emit({ channel: "e2e", type: "custom", payload: { i } }) as string,
    );
    // One batch per request, round-robin: the batches land on all three hubs.
    expect(await publisher.flush(30_000)).toBe(true);
    await until("the SSE reader's events", () => reader.events.length >= ids.length);
    await until("the MQTT subscriber's events", () => received.length >= ids.length);
    const rows = await stored(third.url, "e2e");
    expectExactly(reader.events, rows, ids);
    expect(received.map((e) => e.id).sort()).toEqual([...ids].sort());
    let ingestedOn = 0;
    for (const hub of topology.hubs)
      if ((await metric(hub.url, "chorus_events_ingested_total")) > 0) ingestedOn++;
    expect(ingestedOn).toBeGreaterThan(1);
  });

  it("a client with url: [A, B] streaming from A resumes on B when A is killed (SIGKILL), and what it emits meanwhile arrives once", async () => {
    const [a, b] = topology.hubs as [HubProcess, HubProcess];
    const chorus = client([a.url, b.url]);
    const reader = collect(chorus, "kill");
    await until("the stream on A", () => reader.stream.connected);
    expect(await metric(a.url, "chorus_sse_connections")).toBe(1);
    const ids = await emitWith(chorus, "kill", 200, 100, async () => {
      await until("events before the kill", () => reader.events.length >= 50);
      await a.kill();
    });
    await until("every event on the stream", () => reader.events.length >= ids.length);
    expectExactly(reader.events, await stored(b.url, "kill"), ids);
    expect(reader.stream.connected).toBe(true);
    expect(await metric(b.url, "chorus_sse_connections")).toBe(1);
  });

  it("a stream through nginx resumes on another hub when the one serving it is killed (SIGKILL)", async () => {
    const alive = topology.hubs.filter((h) => h.alive());
    expect(alive.length).toBeGreaterThanOrEqual(2);
    const chorus = client(topology.nginx.url);
    const reader = collect(chorus, "nginx");
    await until("the stream through nginx", () => reader.stream.connected);
    let serving: HubProcess | undefined;
    await until("the hub serving the stream", async () => {
      for (const hub of alive)
        if ((await metric(hub.url, "chorus_sse_connections")) > 0) serving = hub;
      return serving !== undefined;
    });
    const ids = await emitWith(chorus, "nginx", 200, 100, async () => {
      await until("events before the kill", () => reader.events.length >= 50);
      await serving?.kill();
    });
    await until("every event on the stream", () => reader.events.length >= ids.length);
    const survivor = alive.find((h) => h !== serving) as HubProcess;
    expectExactly(reader.events, await stored(survivor.url, "nginx"), ids);
    expect(reader.stream.connected).toBe(true);
  });
});
