import type { Hub } from "@chorus/hub";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Chorus } from "../src/index.js";
import {
  client,
  closeAll,
  fakeHub,
  KEY_A,
  recordingLogger,
  refusedPort,
  startHub,
  storedEvents,
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

describe("lifecycle and diagnostics", () => {
  it("flushAfter() delivers before a serverless handler returns, and keeps its result", async () => {
    const chorus = client({ url: hub.url, channel: "serverless", flushIntervalMs: 60_000 });
    const handler = chorus.flushAfter(async (name: string) => {
      chorus.emit({ type: "agent.start", payload: { name } });
      return `hello ${name}`;
    });
    expect(await handler("world")).toBe("hello world");
    expect(chorus.stats()).toMatchObject({ sent: 1, queued: 0 });
    const failing = chorus.flushAfter(async () => {
      chorus.emit({ type: "agent.error" });
      throw new Error("handler failed");
    });
    await expect(failing()).rejects.toThrow("handler failed");
    expect(chorus.stats().sent).toBe(2);
  });

  it("await using drains on scope exit; emit after close is dropped and counted, never thrown", async () => {
    let chorus: Chorus | undefined;
    {
      await using c = new Chorus({
        url: hub.url,
        apiKey: KEY_A,
        channel: "dispose",
        logger: false,
        flushIntervalMs: 60_000,
      });
      c.emit({ type: "custom" });
      chorus = c;
    }
    expect(chorus?.stats()).toMatchObject({ sent: 1, queued: 0 });
    expect(chorus?.emit({ type: "custom" })).toBeUndefined();
    expect(chorus?.stats().dropped).toBe(1);
    expect((await storedEvents(hub, { channel: "dispose" })).length).toBe(1);
  });

  it("swallows an onError or logger that throws", async () => {
    const chorus = new Chorus({
      url: `http://127.0.0.1:${await refusedPort()}`,
      apiKey: KEY_A,
      drainOnExit: false,
      onError: () => {
        throw new Error("onError is broken");
      },
      logger: {
        debug() {},
        info() {},
        warn() {
          throw new Error("logger is broken");
        },
        error() {},
      },
    });
    expect(chorus.emit({ type: "bad type" })).toBeUndefined();
    expect(chorus.emit({ type: "custom" })).toBeDefined();
    expect(await chorus.flush(300)).toBe(false);
    await chorus.close(0);
    expect(chorus.stats()).toMatchObject({ invalid: 1, dropped: 1 });
  });

  it("warns about drops at most once per interval", async () => {
    const logger = recordingLogger();
    const chorus = client({
      url: `http://127.0.0.1:${await refusedPort()}`,
      logger,
      maxQueueSize: 10,
      warnIntervalMs: 60_000,
    });
    for (let i = 0; i < 500; i++) chorus.emit({ type: "custom" });
    expect(chorus.stats().dropped).toBeGreaterThanOrEqual(480);
    expect(logger.lines.filter((l) => l.message.includes("queue full"))).toHaveLength(1);
  });

  it("drops only the events a 400 names and resends the rest", async () => {
    const fake = await fakeHub((_req, res, body, index) => {
      const events = (JSON.parse(body) as { events: { id: string; payload?: { bad?: boolean } }[] })
        .events;
      if (index === 0) {
        const problems = events
          .map((e, i) =>
            e.payload?.bad ? { index: i, code: "validation_failed", message: "no" } : undefined,
          )
          .filter(Boolean);
        res.writeHead(400, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            error: { code: "validation_failed", message: "refused", details: { problems } },
          }),
        );
        return;
      }
      res.writeHead(202, { "content-type": "application/json" });
      res.end(
        JSON.stringify({ accepted: events.length, duplicates: 0, ids: events.map((e) => e.id) }),
      );
    });
    try {
      const chorus = client({ url: fake.url });
      chorus.emit({ type: "custom", payload: { n: 1 } });
      chorus.emit({ type: "custom", payload: { n: 2, bad: true } });
      chorus.emit({ type: "custom", payload: { n: 3 } });
      expect(await chorus.flush(5000)).toBe(true);
      expect(chorus.stats()).toMatchObject({ sent: 2, failed: 1, retried: 0 });
      const resent = JSON.parse(fake.requests[1]?.body ?? "{}") as {
        events: { payload: { n: number } }[];
      };
      expect(resent.events.map((e) => e.payload.n)).toEqual([1, 3]);
    } finally {
      await fake.close();
    }
  });

  it('capture: "metadata" keeps prompts and completions off the wire', async () => {
    const chorus = client({ url: hub.url, channel: "capture", capture: "metadata" });
    chorus.emit({
      type: "llm.end",
      payload: { model: "m", output: "the secret answer", usage: { inputTokens: 5 } },
      metadata: { apiKey: "sk-live" },
    });
    await chorus.flush();
    const [stored] = await storedEvents(hub, { channel: "capture" });
    expect(stored?.payload).toEqual({ model: "m", usage: { inputTokens: 5 } });
    expect((stored as unknown as { metadata: unknown }).metadata).toEqual({ apiKey: "[REDACTED]" });
  });

  it("reads its configuration from CHORUS_* variables", async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      CHORUS_URL: hub.url,
      CHORUS_API_KEY: KEY_A,
      CHORUS_CHANNEL: "from-env",
      CHORUS_APP: "env-app",
      CHORUS_DRAIN_ON_EXIT: "false",
    });
    try {
      const chorus = new Chorus({ logger: false });
      chorus.emit({ type: "custom" });
      await chorus.close();
      await waitFor(async () => (await storedEvents(hub, { channel: "from-env" })).length === 1);
      const [stored] = await storedEvents(hub, { channel: "from-env" });
      expect(stored).toMatchObject({ app: "env-app" });
    } finally {
      process.env = saved;
    }
  });
});
