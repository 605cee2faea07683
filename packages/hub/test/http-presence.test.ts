import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Hub } from "../src/index.js";
import { Presence } from "../src/presence.js";
import { api, KEY_B, startTestHub } from "./helpers.js";
import { readSse } from "./sse-helpers.js";

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

  it("refuses a token narrowed to channels (agents are not a channel's)", async () => {
    const { body } = await api(hub, "/v1/tokens", {
      body: { scopes: ["read"], channels: ["research"] },
    });
    expect((await api(hub, "/v1/agents", { key: body.token })).status).toBe(403);
  });
});

describe("Presence", () => {
  it("remembers when an agent was last seen, and closing twice counts once", () => {
    let now = 1_000;
    const presence = new Presence(() => now);
    const leave = presence.open("o", "a");
    const other = presence.open("o", "a");
    now = 2_000;
    leave();
    leave();
    expect(presence.list("o")).toEqual([
      { agent: "a", online: true, lastSeenAt: new Date(2_000).toISOString() },
    ]);
    now = 3_000;
    other();
    now = 9_000;
    expect(presence.list("o")).toEqual([
      { agent: "a", online: false, lastSeenAt: new Date(3_000).toISOString() },
    ]);
    expect(presence.list("p")).toEqual([]);
  });
});
