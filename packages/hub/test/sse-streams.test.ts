import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Hub } from "../src/index.js";
import { api, KEY_A, KEY_B, startTestHub } from "./helpers.js";
import { readSse } from "./sse-helpers.js";

describe("SSE streams", () => {
  let hub: Hub;
  beforeAll(async () => {
    hub = await startTestHub();
  });
  afterAll(() => hub.close());

  it("frames every message with id, event and data, after one retry", async () => {
    const stream = await readSse(hub, "/v1/channels/framing/stream");
    expect(stream.res.status).toBe(200);
    expect(stream.res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(stream.res.headers.get("cache-control")).toBe("no-cache");
    expect(stream.res.headers.get("x-accel-buffering")).toBe("no");
    const { body } = await api(hub, "/v1/events", {
      body: { channel: "framing", type: "agent.message", payload: { text: "a\nb" } },
    });
    await stream.until(() => stream.frames.length === 1);
    const [frame] = stream.frames;
    expect(frame?.event).toBe("agent.message");
    expect(frame?.data).toMatchObject({ id: body.ids[0], payload: { text: "a\nb" } });
    expect(frame?.id).toBe(String(frame?.data.seq));
    // retry, then chorus.ready naming the seq the stream starts after, then the event.
    const after = stream.readyAfter;
    expect(after).toBe(Number(frame?.id) - 1);
    expect(stream.raw).toBe(
      `retry: 2000\n\nid: ${after}\nevent: chorus.ready\ndata: {"after":${after},"epoch":"${hub.store.epoch}"}\n\n` +
        `id: ${frame?.id}\nevent: agent.message\ndata: ${JSON.stringify(frame?.data)}\n\n`,
    );
    await stream.close();
  });

  it("filters by types=a,b and by the other event fields", async () => {
    const typed = await readSse(hub, "/v1/channels/filtered/stream?types=tool.start,tool.end");
    const byAgent = await readSse(hub, "/v1/channels/filtered/stream?agent=bob&env=prod");
    const events = [
      { channel: "filtered", type: "tool.start", agent: "bob", env: "prod" },
      { channel: "filtered", type: "llm.start", agent: "bob", env: "prod" },
      { channel: "filtered", type: "tool.end", agent: "alice" },
      { channel: "elsewhere", type: "tool.start", agent: "bob", env: "prod" },
      { channel: "filtered", type: "done" },
    ];
    await api(hub, "/v1/events", { body: { events } });
    await typed.until(() => typed.frames.length === 2);
    await byAgent.until(() => byAgent.frames.length === 2);
    // A later event proves nothing else was queued behind the expected ones.
    await api(hub, "/v1/events", {
      body: { channel: "filtered", type: "tool.end", agent: "bob", env: "prod" },
    });
    await typed.until(() => typed.frames.length === 3);
    await byAgent.until(() => byAgent.frames.length === 3);
    expect(typed.frames.map((f) => `${f.event}/${f.data.agent}`)).toEqual([
      "tool.start/bob",
      "tool.end/alice",
      "tool.end/bob",
    ]);
    expect(byAgent.frames.map((f) => f.event)).toEqual(["tool.start", "llm.start", "tool.end"]);
    await typed.close();
    await byAgent.close();
  });

  it("streams one intent's log", async () => {
    await api(hub, "/v1/intents", { body: { id: "watched", title: "w" } });
    await api(hub, "/v1/intents", { body: { id: "ignored", title: "i" } });
    const stream = await readSse(hub, "/v1/intents/watched/stream");
    await api(hub, "/v1/intents/ignored/state", { method: "PATCH", body: { x: 1 } });
    await api(hub, "/v1/intents/watched/state", { method: "PATCH", body: { stage: "go" } });
    await api(hub, "/v1/intents/watched/events", { body: { text: "hello" } });
    await api(hub, "/v1/intents/watched/status", { body: { status: "completed" } });
    await stream.until(() => stream.frames.length === 3);
    expect(stream.frames.map((f) => f.event)).toEqual([
      "intent.state_changed",
      "intent.comment",
      "intent.status_changed",
    ]);
    expect(stream.frames[0]?.data.payload).toMatchObject({
      changedKeys: ["stage"],
      state: { stage: "go" },
    });
    expect(stream.frames.every((f) => f.data.intentId === "watched")).toBe(true);
    await stream.close();

    // Replay of the whole log from the start.
    const replay = await readSse(hub, "/v1/intents/watched/stream?after=0");
    await replay.until(() => replay.frames.length === 4);
    expect(replay.frames[0]?.event).toBe("intent.created");
    await replay.close();
  });

  it("opens an intent stream with the intent's snapshot, right after chorus.ready", async () => {
    await api(hub, "/v1/intents", { body: { id: "snap", title: "s", state: { a: 1 } } });
    await api(hub, "/v1/intents/snap/state", { method: "PATCH", body: { b: 2 } });
    const { body: current } = await api(hub, "/v1/intents/snap");
    const stream = await readSse(hub, "/v1/intents/snap/stream");
    await stream.until(() => stream.snapshots.length === 1);
    expect(stream.snapshots[0]?.data).toEqual(current);
    expect(stream.snapshots[0]?.data).toMatchObject({ version: 2, state: { a: 1, b: 2 } });
    // No `id:` line: the snapshot does not move the client's Last-Event-ID.
    expect(stream.snapshots[0]?.id).toBeUndefined();
    expect(stream.raw.indexOf("event: chorus.ready")).toBeLessThan(
      stream.raw.indexOf("event: chorus.snapshot"),
    );
    // Events after it still arrive, after the snapshot.
    await api(hub, "/v1/intents/snap/state", { method: "PATCH", body: { c: 3 } });
    await stream.until(() => stream.frames.length === 1);
    expect(stream.frames[0]?.data.payload).toMatchObject({ state: { a: 1, b: 2, c: 3 } });
    expect(stream.raw.indexOf("event: chorus.snapshot")).toBeLessThan(
      stream.raw.indexOf("event: intent.state_changed"),
    );
    await stream.close();

    // A replay from the start opens with the current snapshot too.
    const replay = await readSse(hub, "/v1/intents/snap/stream?after=0");
    await replay.until(() => replay.frames.length === 3);
    expect(replay.snapshots.map((f) => f.data.version)).toEqual([3]);
    expect(replay.frames[0]?.event).toBe("intent.created");
    await replay.close();
  });

  it("streams an agent's assignments and everything on its intents", async () => {
    const stream = await readSse(hub, "/v1/agents/bot/stream");
    await api(hub, "/v1/intents", { body: { id: "for-bot", title: "b", assignees: ["bot"] } });
    await api(hub, "/v1/intents", {
      body: { id: "not-for-bot", title: "n", assignees: ["other"] },
    });
    await api(hub, "/v1/intents/not-for-bot/state", { method: "PATCH", body: { a: 1 } });
    await api(hub, "/v1/intents/for-bot/state", { method: "PATCH", body: { a: 1 } });
    // An adapter's LLM event inside the bot's intent handler reaches it too.
    await api(hub, "/v1/events", {
      body: { channel: "work", type: "llm.end", intentId: "for-bot" },
    });
    await api(hub, "/v1/intents/for-bot/assignees/bot", { method: "DELETE" });
    await api(hub, "/v1/intents/for-bot/state", { method: "PATCH", body: { a: 2 } });
    await api(hub, "/v1/intents/not-for-bot/assignees/bot", { method: "POST" });
    await stream.until(() => stream.frames.length === 6);
    expect(stream.frames.map((f) => `${f.event}@${f.data.intentId}`)).toEqual([
      "intent.created@for-bot",
      "intent.assigned@for-bot",
      "intent.state_changed@for-bot",
      "llm.end@for-bot",
      "intent.unassigned@for-bot",
      "intent.assigned@not-for-bot",
    ]);
    await stream.close();
  });

  it("streams every intent of a portfolio", async () => {
    const stream = await readSse(hub, "/v1/portfolios/q4/stream?types=intent.created");
    await api(hub, "/v1/intents", { body: { id: "p-1", title: "1", portfolio: "q4" } });
    await api(hub, "/v1/intents", { body: { id: "p-2", title: "2", portfolio: "q1" } });
    await api(hub, "/v1/intents", { body: { id: "p-3", title: "3", portfolio: "q4" } });
    await stream.until(() => stream.frames.length === 2);
    expect(stream.frames.map((f) => f.data.intentId)).toEqual(["p-1", "p-3"]);
    await stream.close();
  });

  it("never streams another org's events", async () => {
    const theirs = await readSse(hub, "/v1/channels/shared-name/stream", { key: KEY_B });
    await api(hub, "/v1/events", { body: { channel: "shared-name", type: "private" } });
    await api(hub, "/v1/events", { key: KEY_B, body: { channel: "shared-name", type: "public" } });
    await theirs.until(() => theirs.frames.length === 1);
    expect(theirs.frames.map((f) => f.event)).toEqual(["public"]);
    await theirs.close();
  });

  it("releases the connection when the client goes away", async () => {
    const gauge = async () => {
      const text = (await api(hub, "/metrics", { key: null })).body as string;
      return Number(/^chorus_sse_connections (\d+)/m.exec(text)?.[1]);
    };
    const settle = async (expected: number) => {
      const deadline = Date.now() + 2000;
      while ((await gauge()) !== expected && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 10));
      return gauge();
    };
    // Streams closed by earlier tests may still be winding down.
    expect(await settle(0)).toBe(0);
    const stream = await readSse(hub, "/v1/channels/leaving/stream");
    expect(await gauge()).toBe(1);
    await stream.close();
    expect(await settle(0)).toBe(0);
  });
});

describe("SSE and clients that leave at once", () => {
  it("keeps no stream slot for a client gone before its stream opened", async () => {
    const hub = await startTestHub({ delivery: { maxStreamsPerKey: 2 } });
    try {
      const intent = await api(hub, "/v1/intents", { method: "POST", body: { title: "gone" } });
      const paths = [
        "/v1/channels/gone/stream",
        "/v1/stream?after=0",
        `/v1/intents/${intent.body.id}/stream`,
        "/v1/agents",
      ];
      // Each client sends its request and closes the connection without waiting for an answer,
      // so some leave while the hub is still checking the request.
      for (let i = 0; i < 120; i++) {
        const socket = connect(hub.httpPort, "127.0.0.1");
        await new Promise((resolve) => socket.once("connect", resolve));
        socket.write(
          `GET ${paths[i % paths.length]} HTTP/1.1\r\nhost: hub\r\n` +
            `authorization: Bearer ${KEY_A}\r\naccept: text/event-stream\r\n\r\n`,
        );
        socket.destroy();
      }
      const gauge = async () => {
        const text = (await api(hub, "/metrics", { key: null })).body as string;
        return Number(/^chorus_sse_connections (\d+)/m.exec(text)?.[1]);
      };
      const deadline = Date.now() + 5000;
      while ((await gauge()) !== 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      expect(await gauge()).toBe(0);
      // The key is not locked out: both of its slots are free.
      const first = await readSse(hub, "/v1/channels/gone/stream");
      const second = await readSse(hub, "/v1/channels/gone/stream");
      await first.close();
      await second.close();
    } finally {
      await hub.close();
    }
  });
});

describe("SSE and shutdown", () => {
  it("ends open streams when the hub closes", async () => {
    const hub = await startTestHub();
    const stream = await readSse(hub, "/v1/channels/bye/stream");
    await hub.close();
    await stream.until(() => stream.ended);
    expect(stream.ended).toBe(true);
  });
});
