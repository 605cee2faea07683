import { spawnSync } from "node:child_process";
import type { RealtimeCredentials } from "@chorus/protocol";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Hub } from "../src/index.js";
import { type DynsecMosquitto, haveMosquitto, startDynsecMosquitto } from "./external-broker.js";
import { api, startTestHub } from "./helpers.js";
import { collect, connectMqtt } from "./mqtt-helpers.js";
import { readSse } from "./sse-helpers.js";

// The external broker (Mosquitto 2, dynamic security) stops while a hub runs on it, and comes
// back on the same port: HTTP keeps working without it, and MQTT resumes when it returns.

let broker: DynsecMosquitto;
let hub: Hub;
beforeAll(async () => {
  if (!haveMosquitto) return;
  broker = await startDynsecMosquitto();
  hub = await startTestHub({ mqttUrl: broker.adminUrl, mqttPort: false });
}, 30_000);
afterAll(async () => {
  await hub?.close();
  await broker?.close();
});

async function credentials(): Promise<RealtimeCredentials> {
  const res = await api(hub, "/v1/realtime/credentials", { body: {} });
  expect(res.status).toBe(200);
  return res.body as RealtimeCredentials;
}

/** A client on the broker with these credentials, subscribed to all of org acme's events. */
async function subscriber(c: RealtimeCredentials) {
  const client = await connectMqtt(c.url as string, c.password, {
    username: c.username,
    clientId: c.clientId,
  });
  const inbox = collect(client);
  await client.subscribeAsync("chorus/acme/#");
  return { client, inbox };
}

async function until(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.runIf(haveMosquitto)("the external broker goes away and comes back", () => {
  test("without the broker: credentials are 503 with Retry-After, events are stored and streamed; after it: MQTT delivery resumes", async () => {
    // Before: a subscriber on the broker gets stored events.
    const { client: before, inbox: beforeInbox } = await subscriber(await credentials());
    expect(
      (await api(hub, "/v1/events", { body: { channel: "outage", type: "before" } })).status,
    ).toBe(202);
    expect((await beforeInbox.next(1))[0]?.body.type).toBe("before");
    before.end(true);

    const stream = await readSse(hub, "/v1/channels/outage/stream");
    await stream.until(() => stream.readyAfter !== undefined);

    await broker.stop();

    // Realtime credentials need the broker: 503 with Retry-After, at once, not a hang or a 500.
    const refused = await api(hub, "/v1/realtime/credentials", { body: {} });
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe("unavailable");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);

    // HTTP ingest does not: stored, listed and streamed over SSE while the broker is away.
    const during = await api(hub, "/v1/events", {
      body: {
        events: [1, 2, 3].map((n) => ({ channel: "outage", type: "during", payload: { n } })),
      },
    });
    expect(during.status).toBe(202);
    expect(during.body.accepted).toBe(3);
    await stream.until(() => stream.frames.filter((f) => f.event === "during").length === 3);
    const listed = await api(hub, "/v1/events?channel=outage&type=during");
    expect(listed.body.data.map((e: { payload: { n: number } }) => e.payload.n)).toEqual([1, 2, 3]);
    expect((await api(hub, "/readyz", { key: null })).status).toBe(200);

    await broker.start();

    // The hub reconnects by itself; credentials are issued again once it has.
    let c: RealtimeCredentials | undefined;
    await until(async () => {
      const res = await api(hub, "/v1/realtime/credentials", { body: {} });
      if (res.status === 200) c = res.body as RealtimeCredentials;
      return res.status === 200;
    });
    const { client: after, inbox: afterInbox } = await subscriber(c as RealtimeCredentials);
    // A new event reaches the new subscriber: the hub publishes on the broker again.
    expect(
      (await api(hub, "/v1/events", { body: { channel: "outage", type: "after" } })).status,
    ).toBe(202);
    const [got] = await afterInbox.next(1, 10_000);
    expect(got?.body.type).toBe("after");
    expect(got?.topic).toBe("chorus/acme/default/outage/_/after/_");

    // And client publishes are ingested again (the shared subscription was restored).
    await after.publishAsync(
      "chorus-in/acme",
      JSON.stringify({ channel: "outage", type: "via-mqtt" }),
      { qos: 1 },
    );
    await stream.until(() => stream.frames.some((f) => f.event === "via-mqtt"), 10_000);
    // The SSE stream saw every event once, in seq order, across the outage.
    const types = stream.frames.map((f) => f.event);
    expect(types).toEqual(["during", "during", "during", "after", "via-mqtt"]);
    const seqs = stream.frames.map((f) => Number(f.id));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    await after.endAsync();
    await stream.close();
  }, 60_000);

  test("a broker that is there but does not answer: credentials are 503 with Retry-After, HTTP ingest goes on", async () => {
    broker.pause();
    try {
      // The hub's connection is still up; the provisioning command gets no answer and times out.
      const refused = await api(hub, "/v1/realtime/credentials", { body: {} });
      expect(refused.status).toBe(503);
      expect(refused.body.error.code).toBe("unavailable");
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
      const res = await api(hub, "/v1/events", { body: { channel: "frozen", type: "note" } });
      expect(res.status).toBe(202);
      expect((await api(hub, "/v1/events?channel=frozen")).body.data).toHaveLength(1);
    } finally {
      broker.resume();
    }
    await until(
      async () => (await api(hub, "/v1/realtime/credentials", { body: {} })).status === 200,
    );
  }, 60_000);

  test("a role deleted on the broker behind the hub's back is created again: credentials keep working", async () => {
    const first = await credentials();
    // An operator (or a re-initialised dynamic-security file) removes the org roles the hub made.
    const ctrl = (...args: string[]) =>
      spawnSync(
        "mosquitto_ctrl",
        [
          "-h",
          "127.0.0.1",
          "-p",
          String(broker.port),
          "-u",
          "admin",
          "-P",
          broker.adminPassword,
          "dynsec",
          ...args,
        ],
        { encoding: "utf8" },
      );
    const roles = ctrl("listRoles")
      .stdout.split("\n")
      .map((l) => l.trim())
      .filter((l) => l.startsWith("chorus-org-"));
    expect(roles.length).toBeGreaterThan(0);
    for (const role of roles) expect(ctrl("deleteRole", role).status).toBe(0);

    // The next credentials are issued (the role is made again), and they work.
    const again = await credentials();
    expect(again.username).not.toBe(first.username);
    const { client, inbox } = await subscriber(again);
    expect(
      (await api(hub, "/v1/events", { body: { channel: "roles", type: "after-delete" } })).status,
    ).toBe(202);
    expect((await inbox.next(1, 10_000))[0]?.body.type).toBe("after-delete");
    await client.endAsync();
  }, 60_000);
});
