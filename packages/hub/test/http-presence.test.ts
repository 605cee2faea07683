import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Hub } from "../src/index.js";
import { Presence } from "../src/presence.js";
import { silentLogger } from "../src/logger.js";
import { api, KEY_B, startTestHub } from "./helpers.js";
import { readSse } from "./sse-helpers.js";
import { openTestStore } from "./store-under-test.js";

interface Entry {
  agent: string;
  online: boolean;
  lastSeenAt: string | null;
  intents: { id: string; title: string; status: string }[];
}

async function agents(hub: Hub, key?: string): Promise<Entry[]> {
  const res = await api(hub, "/v1/agents", key ? { key } : {});
  expect(res.status).toBe(200);
  return res.body.data;
}

const find = (list: Entry[], agent: string) => list.find((e) => e.agent === agent);

describe("GET /v1/agents: presence", () => {
  let hub: Hub;
  beforeAll(async () => {
    hub = await startTestHub();
  });
  afterAll(() => hub.close());

  it("lists the agents holding open intents, offline until their runner holds the stream", async () => {
    const open = await api(hub, "/v1/intents", {
      body: { title: "Draft the post", status: "active", assignees: ["writer"] },
    });
    const done = await api(hub, "/v1/intents", {
      body: { title: "Old work", status: "active", assignees: ["writer", "retired"] },
    });
    await api(hub, `/v1/intents/${done.body.id}/status`, { body: { status: "completed" } });

    const before = await agents(hub);
    expect(find(before, "writer")).toEqual({
      agent: "writer",
      online: false,
      lastSeenAt: null,
      intents: [{ id: open.body.id, title: "Draft the post", status: "active" }],
    });
    // Final intents are not held.
    expect(find(before, "retired")).toBeUndefined();
  });

  it("shows an agent online while its stream is open, then offline with lastSeenAt", async () => {
    const stream = await readSse(hub, "/v1/agents/writer/stream");
    await stream.until(() => stream.readyAfter !== undefined);
    const during = find(await agents(hub), "writer");
    expect(during?.online).toBe(true);
    expect(during?.intents).toHaveLength(1);
    // Online agents come first.
    expect((await agents(hub))[0]?.agent).toBe("writer");

    await stream.close();
    let after: Entry | undefined;
    await expect
      .poll(async () => {
        after = find(await agents(hub), "writer");
        return after?.online;
      })
      .toBe(false);
    expect(Date.parse(after?.lastSeenAt ?? "")).toBeGreaterThan(0);
  });

  it("counts every stream an agent holds, and keeps orgs apart", async () => {
    const a = await readSse(hub, "/v1/agents/twin/stream");
    const b = await readSse(hub, "/v1/agents/twin/stream");
    await a.until(() => a.readyAfter !== undefined);
    await b.until(() => b.readyAfter !== undefined);
    await a.close();
    // One stream still open: still online (no wait needed: the answer only grows truer).
    const mid = find(await agents(hub), "twin");
    expect(mid?.online).toBe(true);
    expect(find(await agents(hub, KEY_B), "twin")).toBeUndefined();
    await b.close();
    await expect.poll(async () => find(await agents(hub), "twin")?.online).toBe(false);
  });

  it("streams the list with Accept: text/event-stream, again at once when it changes", async () => {
    const watch = await readSse(hub, "/v1/agents", { headers: { accept: "text/event-stream" } });
    expect(watch.res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const lists = () =>
      watch.frames.filter((f) => f.event === "chorus.agents").map((f) => f.data.data as Entry[]);
    await watch.until(() => lists().length >= 1);
    // The first message is what the JSON answer says.
    expect(lists()[0]).toEqual(await agents(hub));
    expect(find(lists().at(-1) ?? [], "streamer")).toBeUndefined();

    const runner = await readSse(hub, "/v1/agents/streamer/stream");
    await watch.until(() => find(lists().at(-1) ?? [], "streamer")?.online === true);
    const created = await api(hub, "/v1/intents", {
      body: { title: "Stream it", status: "active", assignees: ["streamer"] },
    });
    await watch.until(
      () => find(lists().at(-1) ?? [], "streamer")?.intents[0]?.id === created.body.id,
    );
    await runner.close();
    await watch.until(() => find(lists().at(-1) ?? [], "streamer")?.online === false);
    // Only changes are sent: no two messages in a row say the same.
    const keys = lists().map((l) => JSON.stringify(l.map((e) => [e.agent, e.online, e.intents])));
    for (let i = 1; i < keys.length; i++) expect(keys[i]).not.toBe(keys[i - 1]);
    await watch.close();
  });

  it("refuses a token narrowed to channels (agents are not a channel's)", async () => {
    const { body } = await api(hub, "/v1/tokens", {
      body: { scopes: ["read"], channels: ["research"] },
    });
    expect((await api(hub, "/v1/agents", { key: body.token })).status).toBe(403);
  });
});

describe("GET /v1/agents as a stream, at shutdown", () => {
  it("ends when the hub shuts down, and the hub's close does not wait for it", async () => {
    const own = await startTestHub();
    const watch = await readSse(own, "/v1/agents", { headers: { accept: "text/event-stream" } });
    await watch.until(() => watch.frames.some((f) => f.event === "chorus.agents"));
    await own.close();
    await watch.until(() => watch.ended);
    expect(watch.ended).toBe(true);
  });
});

describe("Presence", () => {
  it("writes this hub's count per agent, and closing twice counts once", async () => {
    const store = await openTestStore();
    let now = 1_000;
    const presence = new Presence({ store, logger: silentLogger, leaseMs: 15_000, now: () => now });
    try {
      const changes: string[] = [];
      presence.watch("o", () => changes.push("o"));
      const leave = presence.open("o", "a");
      const other = presence.open("o", "a");
      now = 2_000;
      leave();
      leave();
      await expect.poll(() => changes.length).toBe(3);
      expect(await presence.list("o")).toEqual([
        { agent: "a", online: true, lastSeenAt: new Date(2_000).toISOString() },
      ]);
      now = 3_000;
      other();
      await expect.poll(() => changes.length).toBe(4);
      now = 9_000;
      expect(await presence.list("o")).toEqual([
        { agent: "a", online: false, lastSeenAt: new Date(3_000).toISOString() },
      ]);
      expect(await presence.list("p")).toEqual([]);
    } finally {
      await presence.close();
      await store.close();
    }
  });

  it("an agent held by a hub that stopped renewing goes offline once the lease has passed", async () => {
    const store = await openTestStore();
    let now = 1_000;
    const options = { store, logger: silentLogger, leaseMs: 15_000, now: () => now };
    const dead = new Presence(options);
    const alive = new Presence(options);
    try {
      dead.open("o", "a");
      alive.open("o", "b");
      await expect.poll(async () => (await alive.list("o")).length).toBe(2);
      now = 15_999; // within the lease of the last write
      expect((await alive.list("o")).map((p) => p.online)).toEqual([true, true]);
      now = 16_001;
      // Nobody renewed: both lapse. (A started hub renews every third of a lease.)
      expect((await alive.list("o")).map((p) => [p.agent, p.online])).toEqual([
        ["a", false],
        ["b", false],
      ]);
      await store.renewPresence(alive.hub, now);
      expect((await alive.list("o")).map((p) => [p.agent, p.online])).toEqual([
        ["b", true],
        ["a", false],
      ]);
    } finally {
      await alive.close();
      await store.close();
    }
  });
});
