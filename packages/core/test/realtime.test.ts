import type { Hub } from "@chorus/hub";
import { afterEach, describe, expect, it } from "vitest";
import {
  type ChorusEvent,
  ConnectionError,
  type RealtimeStatus,
  ValidationError,
} from "../src/index.js";
import { client, closeAll, sleep, startHub, storedEvents, waitFor } from "./helpers.js";

const hubs: Hub[] = [];
async function hub(options: Parameters<typeof startHub>[0] = {}): Promise<Hub> {
  const h = await startHub(options);
  hubs.push(h);
  return h;
}
afterEach(async () => {
  await closeAll();
  await Promise.all(hubs.splice(0).map((h) => h.close()));
});

describe("realtime", () => {
  it("delivers to each callback only what matches its own filter", async () => {
    const h = await hub();
    const chorus = client({ url: h.url });
    const onA: ChorusEvent[] = [];
    const onB: ChorusEvent[] = [];
    const filterA = await chorus.realtime.subscribe({ channel: "alpha" }, (e) => {
      onA.push(e);
    });
    await chorus.realtime.subscribe({ channel: "beta" }, async (e) => {
      onB.push(e);
    });
    expect(filterA).toBe("chorus/acme/+/alpha/+/+/+");
    for (let i = 0; i < 10; i++) {
      chorus.emit({ channel: "alpha", type: "custom", payload: { i } });
      chorus.emit({ channel: "beta", type: "custom", payload: { i } });
    }
    await waitFor(() => onA.length === 10 && onB.length === 10, 10_000, "both channels");
    await sleep(100);
    expect(onA.every((e) => e.channel === "alpha")).toBe(true);
    expect(onB.every((e) => e.channel === "beta")).toBe(true);
    expect(onA.map((e) => e.payload.i)).toEqual([...Array(10).keys()]);
  });

  it("does not duplicate a message for one callback with overlapping filters; unsubscribe drops only one", async () => {
    const h = await hub();
    const chorus = client({ url: h.url });
    const seen: string[] = [];
    const callback = (e: ChorusEvent) => {
      seen.push(e.id);
    };
    const byChannel = await chorus.realtime.subscribe({ channel: "overlap" }, callback);
    await chorus.realtime.subscribe({ type: "overlap.ping" }, callback);
    chorus.emit({ channel: "overlap", type: "overlap.ping" });
    await waitFor(() => seen.length >= 1, 10_000, "first message");
    await sleep(150);
    expect(seen).toHaveLength(1);

    await chorus.realtime.unsubscribe(byChannel);
    chorus.emit({ channel: "overlap", type: "other" }); // matched only by the dropped filter
    chorus.emit({ channel: "elsewhere", type: "overlap.ping" }); // still matched by the type filter
    await waitFor(() => seen.length >= 2, 10_000, "second message");
    await sleep(150);
    expect(seen).toHaveLength(2);
  });

  it("logs and skips a throwing callback; delivery goes on for it and for others", async () => {
    const h = await hub();
    const chorus = client({ url: h.url });
    const good: number[] = [];
    let calls = 0;
    await chorus.realtime.subscribe({ channel: "throwing" }, () => {
      calls++;
      throw new Error("callback bug");
    });
    await chorus.realtime.subscribe({ channel: "throwing" }, async () => {
      throw new Error("async callback bug");
    });
    await chorus.realtime.subscribe({ channel: "throwing" }, (e) => {
      good.push(e.payload.i as number);
    });
    for (let i = 0; i < 5; i++)
      chorus.emit({ channel: "throwing", type: "custom", payload: { i } });
    await waitFor(() => good.length === 5 && calls === 5, 10_000, "all five");
    await waitFor(
      () => chorus.errors.filter((e) => e.context.operation === "realtime.callback").length === 10,
    );
    expect(good).toEqual([0, 1, 2, 3, 4]);
  });

  it("rejects connect() with ConnectionError and reports auth_failed for a bad key", async () => {
    const h = await hub();
    const chorus = client({ url: h.url, apiKey: "key_wrong_0123456789" });
    const statuses: RealtimeStatus[] = [];
    chorus.realtime.onStatus((s) => statuses.push(s));
    const error = await chorus.realtime.connect().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).reason).toBe("auth_failed");
    expect(statuses).toEqual(["auth_failed"]);
  });

  it("restores every subscription after the broker restarts", async () => {
    let h = await hub();
    const { httpPort, mqttPort } = h;
    const chorus = client({ url: h.url });
    const statuses: RealtimeStatus[] = [];
    chorus.realtime.onStatus((s) => statuses.push(s));
    const one: ChorusEvent[] = [];
    const two: ChorusEvent[] = [];
    await chorus.realtime.subscribe({ channel: "restart-1" }, (e) => {
      one.push(e);
    });
    await chorus.realtime.subscribe({ channel: "restart-2", type: "custom" }, (e) => {
      two.push(e);
    });
    expect(statuses).toEqual(["connected"]);

    await h.close();
    hubs.splice(hubs.indexOf(h), 1);
    await waitFor(() => statuses.includes("disconnected"), 10_000, "disconnected");
    // subscribed while disconnected: registered now, subscribed on reconnect
    const three: ChorusEvent[] = [];
    await chorus.realtime.subscribe({ channel: "restart-3" }, (e) => {
      three.push(e);
    });
    // published while disconnected: buffered, sent after the reconnect
    await chorus.realtime.publish({
      channel: "restart-1",
      app: "rt",
      type: "custom",
      payload: { buffered: true },
    });
    h = await hub({ port: httpPort, mqttPort: mqttPort as number });
    await waitFor(() => statuses.includes("reconnected"), 15_000, "reconnected");
    expect(statuses.slice(0, 3)).toEqual(["connected", "disconnected", "reconnecting"]);

    chorus.emit({ channel: "restart-1", type: "custom" });
    chorus.emit({ channel: "restart-2", type: "custom" });
    chorus.emit({ channel: "restart-3", type: "custom" });
    await waitFor(
      () => one.length >= 2 && two.length >= 1 && three.length >= 1,
      10_000,
      "every subscription after restart",
    );
    expect(one.some((e) => e.payload.buffered === true)).toBe(true);
  });

  it("refreshes short-lived credentials without losing a message", async () => {
    const h = await hub({ realtimeTtlSeconds: 5 });
    const publisher = client({ url: h.url, channel: "ttl" });
    const chorus = client({ url: h.url });
    const statuses: RealtimeStatus[] = [];
    chorus.realtime.onStatus((s) => statuses.push(s));
    const received: number[] = [];
    await chorus.realtime.subscribe({ channel: "ttl" }, (e) => {
      received.push(e.payload.i as number);
    });
    // 7.5 s of traffic spans at least one refresh and the first credentials' expiry
    let i = 0;
    const until = Date.now() + 7500;
    while (Date.now() < until) {
      publisher.emit({ type: "custom", payload: { i: i++ } });
      await sleep(50);
    }
    await publisher.flush();
    await waitFor(() => received.length >= i, 10_000, "every message");
    await sleep(200);
    expect(received).toEqual([...Array(i).keys()]);
    expect(statuses).toEqual(["connected"]); // swapped, never disconnected
  });

  it("reads the credentials' lifetime on the hub's clock: a client clock ahead of it does not refresh in a loop", async () => {
    // The hub's clock runs two hours behind this machine's: its expiresAt (and its Date header)
    // are two hours in our past. Read on our clock, every set looked expired on arrival.
    const h = await hub();
    const behind = 2 * 3600_000;
    let requests = 0;
    const skewed: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (!String(input).endsWith("/v1/realtime/credentials") || response.status !== 200)
        return response;
      requests++;
      const creds = (await response.json()) as { expiresAt: string };
      const headers = new Headers(response.headers);
      headers.set("date", new Date(Date.now() - behind).toUTCString());
      headers.delete("content-length");
      const expiresAt = new Date(Date.parse(creds.expiresAt) - behind).toISOString();
      return new Response(JSON.stringify({ ...creds, expiresAt }), { status: 200, headers });
    };
    const chorus = client({ url: h.url, fetch: skewed });
    const received: ChorusEvent[] = [];
    await chorus.realtime.subscribe({ channel: "skew" }, (e) => {
      received.push(e);
    });
    await sleep(1500);
    chorus.emit({ channel: "skew", type: "custom" });
    await waitFor(() => received.length === 1, 10_000, "the event");
    expect(requests).toBe(1);
  });

  it("publishes over MQTT (app and type required) and offers an async-iterator form", async () => {
    const h = await hub();
    const chorus = client({ url: h.url, app: "rt-app" });
    const sub = await chorus.realtime.events({ channel: "iter" });
    await chorus.realtime.publish({ channel: "iter", type: "custom", payload: { n: 1 } });
    await chorus.realtime.publish({ channel: "iter", type: "custom", payload: { n: 2 } });
    const got: ChorusEvent[] = [];
    for await (const event of sub) {
      got.push(event);
      if (got.length === 2) break;
    }
    expect(got.map((e) => e.payload.n)).toEqual([1, 2]);
    expect(got[0]).toMatchObject({ app: "rt-app", channel: "iter", type: "custom" });
    const stored = await storedEvents(h, { channel: "iter" });
    expect(stored).toHaveLength(2);

    const noApp = client({ url: h.url });
    await expect(noApp.realtime.publish({ channel: "iter", type: "custom" })).rejects.toMatchObject(
      {
        name: "ValidationError",
        field: "app",
      },
    );
    await expect(
      noApp.realtime.subscribe({ channel: "a\u0000b" }, () => {}),
    ).rejects.toBeInstanceOf(ValidationError);
  });

  it("works over WebSocket", async () => {
    const h = await hub();
    const chorus = client({ url: h.url, realtimeTransport: "ws" });
    const got: ChorusEvent[] = [];
    await chorus.realtime.subscribe({ channel: "ws" }, (e) => {
      got.push(e);
    });
    chorus.emit({ channel: "ws", type: "custom" });
    await waitFor(() => got.length === 1, 10_000, "ws message");
  });
});
