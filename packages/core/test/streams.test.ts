import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Hub } from "@chorus/hub";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  AuthenticationError,
  type ChorusEvent,
  NotFoundError,
  ValidationError,
} from "../src/index.js";
import {
  client,
  closeAll,
  recordingLogger,
  sleep,
  startHub,
  tcpProxy,
  waitFor,
} from "./helpers.js";

let hub: Hub;
beforeAll(async () => {
  hub = await startHub();
});
afterAll(async () => {
  await hub.close();
});
afterEach(closeAll);

async function collect(
  stream: AsyncIterable<ChorusEvent>,
  n: number,
  into: ChorusEvent[] = [],
): Promise<ChorusEvent[]> {
  for await (const event of stream) {
    into.push(event);
    if (into.length >= n) break;
  }
  return into;
}

describe("SSE streams", () => {
  it("streams a channel's events in order, filtered by type", async () => {
    const chorus = client({ url: hub.url, channel: "stream-basic" });
    const stream = chorus.stream.channel("stream-basic", {
      types: ["tool.start", "tool.end"],
      after: 0,
    });
    const received = collect(stream, 4);
    for (const type of ["tool.start", "llm.start", "tool.end", "llm.end", "tool.start", "tool.end"])
      chorus.emit({ type });
    const events = await received;
    expect(events.map((e) => e.type)).toEqual(["tool.start", "tool.end", "tool.start", "tool.end"]);
    expect(stream.lastEventId).toBe(events[3]?.seq);
  });

  it("resumes after forced disconnects mid-burst with no gap and no duplicate", async () => {
    const proxy = await tcpProxy(hub.httpPort);
    try {
      const publisher = client({ url: hub.url, channel: "stream-burst", maxBatchSize: 20 });
      const reader = client({ url: proxy.url });
      const stream = reader.stream.channel("stream-burst", { after: 0 });
      const received: ChorusEvent[] = [];
      const done = collect(stream, 600, received);
      const ids: (string | undefined)[] = [];
      for (let round = 0; round < 6; round++) {
        for (let i = 0; i < 100; i++)
          ids.push(publisher.emit({ type: "custom", payload: { i: ids.length } }));
        await waitFor(() => received.length > round * 100 + 10, 10_000, "some events of the round");
        proxy.cutAll(); // drop the SSE connection in the middle of the burst
        await sleep(5);
      }
      await done;
      expect(proxy.connections).toBeGreaterThanOrEqual(6);
      expect(received.map((e) => e.id)).toEqual(ids);
      const seqs = received.map((e) => e.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(new Set(seqs).size).toBe(600);
    } finally {
      await proxy.close();
    }
  });

  it("follows a restarted in-memory hub from its seq 1 (new epoch), not from the old cursor", async () => {
    const first = await startHub();
    const port = first.httpPort;
    let second: Hub | undefined;
    try {
      const reader = client({ url: first.url });
      const stream = reader.stream.channel("epoch", { after: 0 });
      // One iterator throughout: `break` in for-await would close the stream.
      const iterator = stream[Symbol.asyncIterator]();
      const take = async (n: number) => {
        const out: ChorusEvent[] = [];
        while (out.length < n) {
          const next = await iterator.next();
          if (next.done) break;
          out.push(next.value);
        }
        return out;
      };
      const before = take(5);
      const publisher = client({ url: first.url, channel: "epoch" });
      for (let i = 0; i < 5; i++) publisher.emit({ type: "custom", payload: { hub: 1, i } });
      await publisher.flush();
      await before;
      const oldEpoch = stream.epoch;
      expect(oldEpoch).toMatch(/^[0-9a-f]{32}$/);
      expect(stream.lastEventId).toBe(5);
      await first.close();
      // The same URL, a new in-memory store: seqs start at 1 again, below the reader's cursor.
      second = await startHub({ port });
      const again = client({ url: second.url, channel: "epoch" });
      for (let i = 0; i < 3; i++) again.emit({ type: "custom", payload: { hub: 2, i } });
      await again.flush();
      const after = await take(3);
      expect(after.map((e) => [e.seq, (e.payload as { hub: number }).hub])).toEqual([
        [1, 2],
        [2, 2],
        [3, 2],
      ]);
      expect(stream.epoch).not.toBe(oldEpoch);
    } finally {
      await second?.close();
      await first.close().catch(() => {});
    }
  }, 30_000);

  it("says when it resumes below what the hub's retention kept (stream.gap, a warning, page.oldest)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "chorus-retention-"));
    const db = join(dir, "hub.db");
    let hub2: Hub | undefined;
    try {
      const hub1 = await startHub({ db });
      const publisher = client({ url: hub1.url, channel: "kept" });
      for (let i = 0; i < 5; i++) publisher.emit({ type: "custom", payload: { i } });
      expect(await publisher.flush()).toBe(true);
      await publisher.close();
      await hub1.close();
      await sleep(5);
      // The same store under a retention that has all five expired: pruned as the hub starts.
      hub2 = await startHub({ db, retention: "1ms" });
      const logger = recordingLogger();
      const reader = client({ url: hub2.url, logger });
      expect(await reader.events.list({ channel: "kept", after: 2 })).toMatchObject({
        data: [],
        oldest: 6,
      });
      expect(await reader.events.list({ channel: "kept", after: 5 })).not.toHaveProperty("oldest");
      const stream = reader.stream.channel("kept", { after: 2 });
      const iterator = stream[Symbol.asyncIterator]();
      const first = iterator.next();
      const again = client({ url: hub2.url, channel: "kept" });
      again.emit({ type: "custom", payload: { i: 5 } });
      await again.flush();
      expect((await first).value?.seq).toBe(6);
      expect(stream.gap).toEqual({ after: 2, oldest: 6 });
      expect(logger.lines.filter((l) => l.level === "warn").map((l) => l.message)).toEqual([
        expect.stringMatching(/resumed after seq 2, but the hub keeps events from seq 6 on/),
      ]);
      // Resumed at or past what is kept: nothing missed, nothing said.
      const current = reader.stream.channel("kept", { after: 5 });
      const next = current[Symbol.asyncIterator]().next();
      expect((await next).value?.seq).toBe(6);
      expect(current.gap).toBeUndefined();
    } finally {
      await hub2?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it("a live stream that drops before its first event still resumes where it started", async () => {
    const proxy = await tcpProxy(hub.httpPort);
    try {
      const publisher = client({ url: hub.url, channel: "stream-live-drop" });
      publisher.emit({ type: "custom", payload: { before: true } }); // history: not replayed
      expect(await publisher.flush(5000)).toBe(true);
      const reader = client({ url: proxy.url });
      const stream = reader.stream.channel("stream-live-drop"); // no `after`: starts live
      const received = collect(stream, 3);
      // The hub's opening chorus.ready tells the client where the stream starts.
      await waitFor(() => stream.lastEventId !== undefined, 5_000, "the stream's starting point");
      proxy.cutAll(); // dropped before any event arrived
      for (let i = 0; i < 3; i++) publisher.emit({ type: "custom", payload: { i } });
      expect(await publisher.flush(5000)).toBe(true);
      const events = await received;
      expect(events.map((e) => e.payload)).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
      expect(proxy.connections).toBeGreaterThanOrEqual(2);
    } finally {
      await proxy.close();
    }
  });

  it("tells onConnection listeners when the connection opens and drops", async () => {
    const proxy = await tcpProxy(hub.httpPort);
    try {
      const reader = client({ url: proxy.url });
      const stream = reader.stream.channel("stream-status");
      const seen: boolean[] = [];
      stream.onConnection((up) => seen.push(up));
      stream.onConnection(() => {
        throw new Error("a broken listener is skipped");
      });
      await waitFor(() => seen.length === 1, 5_000, "the first open");
      proxy.cutAll();
      await waitFor(() => seen.length === 3, 10_000, "the drop and the reconnect");
      expect(seen).toEqual([true, false, true]);
      stream.close();
      expect(seen).toHaveLength(3); // close() is not reported as a drop
    } finally {
      await proxy.close();
    }
  });

  it("ends the iteration with AuthenticationError on a bad key instead of retrying", async () => {
    const chorus = client({ url: hub.url, apiKey: "key_wrong_0123456789" });
    const stream = chorus.stream.channel("anything");
    await expect(collect(stream, 1)).rejects.toBeInstanceOf(AuthenticationError);
    // and then it is simply done
    expect(await stream[Symbol.asyncIterator]().next()).toEqual({ value: undefined, done: true });
  });

  it("ends the iteration with NotFoundError for an unknown intent", async () => {
    const chorus = client({ url: hub.url });
    await expect(collect(chorus.stream.intent("no-such-intent"), 1)).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });

  it("streams an intent's log and an agent's assignments", async () => {
    const chorus = client({ url: hub.url });
    const intent = await chorus.intents.create({ title: "streamed", portfolio: "p-stream" });
    const id = intent?.id as string;
    const intentStream = chorus.stream.intent(id, { after: 0 });
    const agentStream = chorus.stream.agent("stream-agent", { after: 0 });
    const portfolioStream = chorus.stream.portfolio("p-stream", { after: 0 });
    const fromIntent = collect(intentStream, 3);
    const fromAgent = collect(agentStream, 3);
    const fromPortfolio = collect(portfolioStream, 3);
    await chorus.intents.assign(id, "stream-agent");
    await chorus.intents.patchState(id, { step: 1 });
    expect((await fromIntent).map((e) => e.type)).toEqual([
      "intent.created",
      "intent.assigned",
      "intent.state_changed",
    ]);
    // The hub's opening `chorus.snapshot` is kept apart, not yielded as an event.
    expect(intentStream.snapshot).toMatchObject({ id, title: "streamed" });
    expect(agentStream.snapshot).toBeUndefined();
    // once assigned, the agent sees the intent's whole log
    expect((await fromAgent).map((e) => e.type)).toEqual([
      "intent.created",
      "intent.assigned",
      "intent.state_changed",
    ]);
    expect((await fromPortfolio).map((e) => e.type)).toEqual([
      "intent.created",
      "intent.assigned",
      "intent.state_changed",
    ]);
  });

  it("refuses invalid arguments with a ValidationError naming the field", () => {
    const chorus = client({ url: hub.url });
    expect(() => chorus.stream.channel("a\u0000b")).toThrow(ValidationError);
    try {
      chorus.stream.channel("ok", { types: ["not valid!"] });
    } catch (error) {
      expect((error as ValidationError).field).toMatch(/^types/);
    }
    expect(() => chorus.stream.intent("bad id!")).toThrowError(
      expect.objectContaining({ field: "id" }),
    );
  });

  it("close() ends a pending iteration", async () => {
    const chorus = client({ url: hub.url });
    const stream = chorus.stream.channel("quiet-channel");
    const pending = collect(stream, 1);
    await waitFor(() => stream.connected, 5000, "connected");
    stream.close();
    expect(await pending).toEqual([]);
  });
});

describe("SSE backpressure", () => {
  it("pauses a slow reader's connection and resumes from the last seq without loss", async () => {
    const proxy = await tcpProxy(hub.httpPort);
    try {
      const publisher = client({ url: hub.url, channel: "slow-reader", maxBatchSize: 1000 });
      const ids = Array.from({ length: 1500 }, (_, i) =>
        publisher.emit({ type: "custom", payload: { i } }),
      );
      await publisher.flush();
      const reader = client({ url: proxy.url });
      const stream = reader.stream.channel("slow-reader", { after: 0 });
      await sleep(500); // do not read: the stream buffers up to its bound, then closes the connection
      const received = await collect(stream, 1500);
      expect(received.map((e) => e.id)).toEqual(ids);
      expect(proxy.connections).toBeGreaterThanOrEqual(2); // paused and resumed
    } finally {
      await proxy.close();
    }
  });
});
