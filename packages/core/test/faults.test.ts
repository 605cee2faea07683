import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Hub } from "@chorus/hub";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ConnectionError, type FetchFunction } from "../src/index.js";
import {
  client,
  closeAll,
  fakeHub,
  KEY_A,
  ORG_A,
  recordingLogger,
  refusedPort,
  sleep,
  startHub,
  storedEvents,
  waitFor,
} from "./helpers.js";

afterEach(closeAll);

const accepted = (body: string) => {
  const events = (JSON.parse(body) as { events: { id: string }[] }).events;
  return JSON.stringify({ accepted: events.length, duplicates: 0, ids: events.map((e) => e.id) });
};
const idsOf = (body: string) =>
  (JSON.parse(body) as { events: { id: string }[] }).events.map((e) => e.id);

describe("delivery under faults", () => {
  it("retries a 500 and delivers once the hub answers 200", async () => {
    const fake = await fakeHub((_req, res, body, index) => {
      if (index < 2)
        res
          .writeHead(500, { "content-type": "application/json" })
          .end('{"error":{"code":"internal","message":"boom"}}');
      else res.writeHead(202, { "content-type": "application/json" }).end(accepted(body));
    });
    try {
      const chorus = client({ url: fake.url });
      const ids = Array.from({ length: 10 }, (_, i) =>
        chorus.emit({ type: "custom", payload: { i } }),
      );
      expect(await chorus.flush(5000)).toBe(true);
      expect(fake.requests).toHaveLength(3);
      // every attempt carried the same events, in order: the ids make the retries idempotent
      for (const r of fake.requests) expect(idsOf(r.body)).toEqual(ids);
      expect(chorus.stats()).toMatchObject({ sent: 10, retried: 2, failed: 0, queued: 0 });
    } finally {
      await fake.close();
    }
  });

  it("honours Retry-After on 429", async () => {
    const at: number[] = [];
    const fake = await fakeHub((_req, res, body, index) => {
      at.push(Date.now());
      if (index === 0) {
        res.writeHead(429, { "retry-after": "1", "content-type": "application/json" });
        res.end('{"error":{"code":"rate_limited","message":"slow down"}}');
      } else res.writeHead(202, { "content-type": "application/json" }).end(accepted(body));
    });
    try {
      const chorus = client({ url: fake.url, retryBaseDelayMs: 10 });
      chorus.emit({ type: "custom" });
      expect(await chorus.flush(5000)).toBe(true);
      expect(fake.requests).toHaveLength(2);
      // backoff alone would have retried after ~10 ms; the hub asked for a second
      expect((at[1] as number) - (at[0] as number)).toBeGreaterThanOrEqual(950);
      expect(chorus.stats()).toMatchObject({ sent: 1, retried: 1, circuit: "closed" });
    } finally {
      await fake.close();
    }
  });

  it("flush() and flushAfter() never re-send before the hub's Retry-After: false, and the events stay queued", async () => {
    const fake = await fakeHub((_req, res) => {
      res.writeHead(429, { "retry-after": "30", "content-type": "application/json" });
      res.end('{"error":{"code":"rate_limited","message":"slow down"}}');
    });
    try {
      const chorus = client({ url: fake.url });
      chorus.emit({ type: "custom" });
      await waitFor(() => fake.requests.length === 1, 5000, "the first batch");
      await waitFor(() => chorus.stats().retried === 1, 5000, "the 429 to land");
      // A serverless handler flushing on every invocation: none of them may re-send the batch.
      const handler = chorus.flushAfter(async () => "done", { timeoutMs: 100 });
      for (let i = 0; i < 5; i++) {
        expect(await handler()).toBe("done");
        expect(await chorus.flush(100)).toBe(false);
      }
      expect(fake.requests).toHaveLength(1);
      expect(chorus.stats()).toMatchObject({ queued: 1, sent: 0, retried: 1 });
    } finally {
      await fake.close();
    }
  });

  it("flush() waits out a Retry-After within its timeout, then delivers", async () => {
    const fake = await fakeHub((_req, res, body, index) => {
      if (index === 0) {
        res.writeHead(503, { "retry-after": "1", "content-type": "application/json" });
        res.end('{"error":{"code":"unavailable","message":"busy"}}');
      } else res.writeHead(202, { "content-type": "application/json" }).end(accepted(body));
    });
    try {
      const chorus = client({ url: fake.url });
      chorus.emit({ type: "custom" });
      await waitFor(() => chorus.stats().retried === 1, 5000, "the 503 to land");
      expect(await chorus.flush(100)).toBe(false); // the hub's second is not over
      expect(fake.requests).toHaveLength(1);
      expect(await chorus.flush(5000)).toBe(true);
      expect(fake.requests).toHaveLength(2);
      expect(chorus.stats()).toMatchObject({ sent: 1, queued: 0 });
    } finally {
      await fake.close();
    }
  });

  it("close() does not re-send a batch the hub asked to hold past its timeout: the events count as dropped", async () => {
    const fake = await fakeHub((_req, res) => {
      res.writeHead(429, { "retry-after": "30", "content-type": "application/json" });
      res.end('{"error":{"code":"rate_limited","message":"slow down"}}');
    });
    try {
      const chorus = client({ url: fake.url });
      chorus.emit({ type: "custom" });
      await waitFor(() => chorus.stats().retried === 1, 5000, "the 429 to land");
      await chorus.close(500);
      expect(fake.requests).toHaveLength(1);
      expect(chorus.stats()).toMatchObject({ sent: 0, dropped: 1, queued: 0 });
    } finally {
      await fake.close();
    }
  });

  it("delivers every event through a real hub's per-key rate limit, waiting out Retry-After", async () => {
    const reader = "key_acme_reader_0123456789"; // a second key of the org, with its own budget
    const limited = await startHub({
      rateLimit: "10/s",
      apiKeys: `${ORG_A}:${KEY_A},${ORG_A}:${reader}`,
    });
    try {
      const chorus = client({ url: limited.url, channel: "limited", maxBatchSize: 5 });
      const ids = Array.from({ length: 100 }, (_, i) =>
        chorus.emit({ type: "custom", payload: { i } }),
      );
      expect(await chorus.flush(20_000)).toBe(true);
      const stored = await storedEvents(limited, { channel: "limited" }, reader);
      expect(stored.map((e) => e.id)).toEqual(ids); // all of them, once, in order
      expect(chorus.stats()).toMatchObject({ sent: 100, dropped: 0, failed: 0 });
      expect(chorus.stats().retried).toBeGreaterThan(0); // 20 requests against 10/s: some waited
    } finally {
      await limited.close();
    }
  });

  it("times out a hub that accepts and never answers, while emit() carries on", async () => {
    let hang = true;
    const fake = await fakeHub((_req, res, body) => {
      if (!hang) res.writeHead(202, { "content-type": "application/json" }).end(accepted(body));
      // otherwise: never answer
    });
    try {
      const chorus = client({ url: fake.url, timeoutMs: 200 });
      chorus.emit({ type: "custom", payload: { n: 0 } });
      await waitFor(() => fake.requests.length >= 1, 5000, "first request");
      // the request hangs; emit() is not slowed down by it and keeps queueing
      const ids = Array.from({ length: 1000 }, (_, i) =>
        chorus.emit({ type: "custom", payload: { n: i + 1 } }),
      );
      expect(ids.every((id) => typeof id === "string")).toBe(true);
      expect(chorus.stats().queued).toBe(1001);
      await waitFor(() => chorus.errors.length > 0, 5000, "timeout error");
      const error = chorus.errors[0]?.error as ConnectionError;
      expect(error).toBeInstanceOf(ConnectionError);
      expect(error.reason).toBe("timeout");
      hang = false;
      expect(await chorus.flush(10_000)).toBe(true);
      expect(chorus.stats()).toMatchObject({ sent: 1001, queued: 0, dropped: 0 });
    } finally {
      await fake.close();
    }
  });

  it("opens the circuit on connection refused, sends no request storm, and delivers once the hub is back", async () => {
    const port = await refusedPort();
    let attempts = 0;
    const counting: FetchFunction = (input, init) => {
      attempts++;
      return fetch(input, init);
    };
    const chorus = client({
      url: `http://127.0.0.1:${port}`,
      fetch: counting,
      circuitFailureThreshold: 3,
      circuitCooldownMs: 200,
      circuitMaxCooldownMs: 800,
    });
    const ids: (string | undefined)[] = [];
    const deadline = Date.now() + 2500;
    while (Date.now() < deadline) {
      for (let i = 0; i < 50; i++)
        ids.push(chorus.emit({ type: "custom", payload: { i: ids.length } }));
      await sleep(20);
    }
    expect(chorus.stats().circuit).not.toBe("closed");
    // ~6000 emits over 2.5 s: 3 failures open the circuit, then one probe per cooldown
    // (200, 400, 800, 800 ms ±20%). Without the breaker this would be hundreds of requests.
    expect(attempts).toBeLessThanOrEqual(12);
    expect(attempts).toBeGreaterThanOrEqual(4);

    const hub = await startHub({ port });
    try {
      expect(await chorus.flush(10_000)).toBe(true);
      expect(chorus.stats()).toMatchObject({
        circuit: "closed",
        dropped: 0,
        queued: 0,
        sent: ids.length,
      });
      const stored = await storedEvents(hub);
      expect(stored.map((e) => e.id)).toEqual(ids);
    } finally {
      await hub.close();
    }
  });

  it("drops the oldest events when the queue overflows, and counts them", async () => {
    const port = await refusedPort();
    const chorus = client({
      url: `http://127.0.0.1:${port}`,
      maxQueueSize: 100,
      warnIntervalMs: 60_000,
    });
    for (let i = 0; i < 250; i++) chorus.emit({ type: "custom", payload: { i } });
    // the first batch may be in flight when the rest arrives; either way 150 are dropped
    await waitFor(() => chorus.stats().dropped === 150, 5000, "150 drops");
    expect(chorus.stats().queued).toBe(100);

    const hub = await startHub({ port });
    try {
      expect(await chorus.flush(10_000)).toBe(true);
      const stored = await storedEvents(hub);
      expect(stored.map((e) => e.payload.i)).toEqual(
        Array.from({ length: 100 }, (_, k) => 150 + k),
      );
    } finally {
      await hub.close();
    }
  });

  it("delivers every event exactly once when the hub stops mid-stream and restarts", async () => {
    const dir = mkdtempSync(join(tmpdir(), "chorus-core-"));
    const db = join(dir, "hub.db");
    let hub: Hub = await startHub({ db });
    const port = hub.httpPort;
    try {
      const chorus = client({ url: hub.url, maxBatchSize: 50, circuitFailureThreshold: 2 });
      const ids: (string | undefined)[] = [];
      const emitSome = async (n: number) => {
        for (let i = 0; i < n; i++) {
          ids.push(chorus.emit({ type: "custom", payload: { i: ids.length } }));
          if (i % 25 === 0) await sleep(1);
        }
      };
      await emitSome(400);
      const stopping = hub.close();
      await emitSome(400); // while the hub shuts down and is gone
      await stopping;
      await sleep(300);
      await emitSome(200);
      hub = await startHub({ db, port });
      await emitSome(200);
      expect(await chorus.flush(15_000)).toBe(true);

      const stored = await storedEvents(hub);
      expect(stored).toHaveLength(1200);
      expect(new Set(stored.map((e) => e.id)).size).toBe(1200);
      expect(stored.map((e) => e.id)).toEqual(ids); // in seq order = emit order
      expect(chorus.stats()).toMatchObject({ sent: 1200, dropped: 0, failed: 0, queued: 0 });
      expect(chorus.stats().retried).toBeGreaterThan(0); // the outage was really hit
    } finally {
      await hub.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("exit drain", () => {
  const dist = fileURLToPath(new URL("../dist/index.js", import.meta.url));
  const script = `
    import { Chorus } from ${JSON.stringify(dist)};
    const chorus = new Chorus({ channel: "exit-drain", flushIntervalMs: 60000 });
    for (let i = 0; i < 50; i++) chorus.emit({ type: "custom", payload: { i } });
    // no flush, no close: the process just ends
  `;
  const run = (env: Record<string, string>) =>
    new Promise<{ code: number | null; ms: number }>((resolve) => {
      const started = Date.now();
      const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
        env: { ...process.env, ...env },
        stdio: "ignore",
      });
      child.on("exit", (code) => resolve({ code, ms: Date.now() - started }));
    });

  it("delivers what a process emitted before it exits on its own", async () => {
    const hub = await startHub();
    try {
      const { code } = await run({ CHORUS_URL: hub.url, CHORUS_API_KEY: KEY_A });
      expect(code).toBe(0);
      const stored = await storedEvents(hub, { channel: "exit-drain" });
      expect(stored.map((e) => e.payload.i)).toEqual([...Array(50).keys()]);
    } finally {
      await hub.close();
    }
  });

  it("twelve clients share one beforeExit listener: no leak warning, every client drained", async () => {
    const hub = await startHub();
    const many = `
      import { Chorus } from ${JSON.stringify(dist)};
      const before = process.listenerCount("beforeExit");
      const clients = Array.from({ length: 12 }, (_, i) => new Chorus({ channel: "exit-many", flushIntervalMs: 60000 }));
      clients.forEach((chorus, i) => chorus.emit({ type: "custom", payload: { i } }));
      console.error("listeners added:", process.listenerCount("beforeExit") - before);
    `;
    try {
      const stderr = await new Promise<string>((resolve) => {
        let out = "";
        const child = spawn(process.execPath, ["--input-type=module", "-e", many], {
          env: { ...process.env, CHORUS_URL: hub.url, CHORUS_API_KEY: KEY_A },
          stdio: ["ignore", "ignore", "pipe"],
        });
        child.stderr.on("data", (chunk: Buffer) => {
          out += chunk.toString();
        });
        child.on("exit", () => resolve(out));
      });
      expect(stderr).toContain("listeners added: 1");
      expect(stderr).not.toContain("MaxListenersExceededWarning");
      const stored = await storedEvents(hub, { channel: "exit-many" });
      expect(stored.map((e) => e.payload.i).sort((a, b) => Number(a) - Number(b))).toEqual([
        ...Array(12).keys(),
      ]);
    } finally {
      await hub.close();
    }
  });

  it("does not keep a process alive past the drain timeout when the hub is down", async () => {
    const port = await refusedPort();
    const { code } = await run({
      CHORUS_URL: `http://127.0.0.1:${port}`,
      CHORUS_API_KEY: KEY_A,
      CHORUS_DRAIN_TIMEOUT_MS: "300",
      CHORUS_LOG_LEVEL: "silent",
    });
    expect(code).toBe(0);
  });

  it("leaves part of drainTimeoutMs for the exit itself: a hanging request is given up at 480 of 500 ms", async () => {
    vi.useFakeTimers();
    try {
      const logger = recordingLogger();
      const hanging: FetchFunction = (_url, init) =>
        new Promise((_resolve, reject) =>
          init?.signal?.addEventListener("abort", () => reject(init.signal?.reason)),
        );
      const chorus = client({ fetch: hanging, drainOnExit: true, drainTimeoutMs: 500, logger });
      chorus.emit({ type: "custom", payload: {} });
      // The process-wide beforeExit listener (platform.ts), called as Node would.
      const hook = (globalThis as Record<symbol, { listener: () => void }>)[
        Symbol.for("@chorus/core:exit-drains")
      ];
      hook?.listener();
      const gaveUp = () => logger.lines.some((l) => l.message.includes("exit drain gave up"));
      await vi.advanceTimersByTimeAsync(479);
      expect(gaveUp()).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(gaveUp()).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it("an adapter's drain() at exit keeps the same margin: given up at 480 of 500 ms", async () => {
    vi.useFakeTimers();
    try {
      const hanging: FetchFunction = (_url, init) =>
        new Promise((_resolve, reject) =>
          init?.signal?.addEventListener("abort", () => reject(init.signal?.reason)),
        );
      const chorus = client({ fetch: hanging, drainTimeoutMs: 500 });
      chorus.emit({ type: "custom", payload: {} });
      let drained: boolean | undefined;
      void chorus.drain(5000).then((result) => {
        drained = result;
      });
      await vi.advanceTimersByTimeAsync(479);
      expect(drained).toBeUndefined();
      await vi.advanceTimersByTimeAsync(1);
      expect(drained).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });
});
