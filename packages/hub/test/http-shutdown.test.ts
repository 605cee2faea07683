import { connect, type Socket } from "node:net";
import type { FastifyInstance } from "fastify";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Authenticator } from "../src/auth.js";
import { type HubLogger, resolveHubConfig } from "../src/config.js";
import type { HubContext } from "../src/context.js";
import { LocalCommitSignal } from "../src/delivery/commit-signal.js";
import { DeliveryEngine } from "../src/delivery/engine.js";
import { buildHttpServer } from "../src/http/server.js";
import { Presence } from "../src/presence.js";
import { HubMetrics } from "../src/metrics.js";
import { SqliteStore } from "../src/store/sqlite.js";
import { StorageTrouble } from "../src/storage-trouble.js";
import type { Store } from "../src/store/types.js";
import type { Hub } from "../src/index.js";
import { api, KEY_A } from "./helpers.js";
import { readSse } from "./sse-helpers.js";

/**
 * These tests build the HTTP server on its own, to reach what a whole hub hides: the shutdown
 * signal, a failing store, and a fast SSE ping.
 */
interface Harness {
  app: FastifyInstance;
  url: string;
  closing: AbortController;
  lines: string[];
  store: SqliteStore;
}

const open: Harness[] = [];

/** `api()` only needs the base URL. */
const at = (h: Harness) => ({ url: h.url }) as Hub;

/** The real store with some methods replaced (bound, since the store keeps private fields). */
function override(overrides: Partial<Store>) {
  return (store: Store): Store =>
    new Proxy(store, {
      get(target, key) {
        if (Object.hasOwn(overrides, key)) return overrides[key as keyof Store];
        const value = Reflect.get(target, key, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
}

async function startServer(
  options: {
    wrapStore?: (store: Store) => Store;
    pingMs?: number;
    replayCacheBytes?: number;
    requestTimeoutMs?: number;
    answerDeadlineMs?: number;
    maxUnreadAnswerBytesPerKey?: number;
  } = {},
): Promise<Harness> {
  const config = resolveHubConfig(
    {
      apiKeys: `acme:${KEY_A}`,
      mqttPort: false,
      db: ":memory:",
      delivery: { replayCacheBytes: options.replayCacheBytes },
    },
    {},
  );
  const lines: string[] = [];
  const write = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
    void lines.push(JSON.stringify({ level, msg, ...fields }));
  const logger: HubLogger = {
    debug: write("debug"),
    info: write("info"),
    warn: write("warn"),
    error: write("error"),
  };
  const store = SqliteStore.open(":memory:");
  const closing = new AbortController();
  const metrics = new HubMetrics();
  const commits = new LocalCommitSignal();
  const wrapped = options.wrapStore ? options.wrapStore(store) : store;
  const delivery = new DeliveryEngine({
    store: wrapped,
    commits,
    metrics,
    logger,
    limits: config.delivery,
  });
  await delivery.start();
  const ctx: HubContext = {
    config,
    store: wrapped,
    commits,
    delivery,
    auth: new Authenticator(config.apiKeys),
    authThrottle: undefined,
    trustProxy: false,
    metrics,
    presence: new Presence({ store: wrapped, logger }),
    logger,
    addresses: { httpPort: 0, mqttPort: undefined, host: "127.0.0.1" },
    closing: closing.signal,
    retained: { oldest: 0 },
    storageTrouble: new StorageTrouble(logger),
  };
  const app = await buildHttpServer(ctx, {
    ssePingIntervalMs: options.pingMs ?? 60_000,
    requestTimeoutMs: options.requestTimeoutMs,
    answerDeadlineMs: options.answerDeadlineMs,
    maxUnreadAnswerBytesPerKey: options.maxUnreadAnswerBytesPerKey,
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const harness = { app, url: `http://127.0.0.1:${port}`, closing, lines, store };
  open.push(harness);
  return harness;
}

afterEach(async () => {
  for (const h of open.splice(0)) {
    h.closing.abort();
    await h.app.close();
    await h.store.close();
  }
});

/** Write `head` and `body` on a raw socket and read what comes back until the hub closes it. */
function rawExchange(url: string, head: string, body = ""): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(head + body));
    let answer = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      answer += chunk;
    });
    socket.on("close", () => resolve(answer));
    socket.on("error", reject);
  });
}

/** About 16 MB of events on channel `big`: more than the kernel's socket buffers take for an idle reader. */
async function storeBigEvents(h: Harness): Promise<void> {
  const pad = "x".repeat(16_000);
  for (let batch = 0; batch < 4; batch++) {
    const events = Array.from({ length: 250 }, () => ({
      type: "custom",
      channel: "big",
      payload: { pad },
    }));
    expect((await api(at(h), "/v1/events", { body: { events } })).status).toBe(202);
  }
}

/** Ask for a page of `big` (several MB) on a raw socket that never reads its answer. */
async function askNeverRead(h: Harness): Promise<Socket> {
  const { hostname, port } = new URL(h.url);
  const socket = connect({ port: Number(port), host: hostname });
  socket.on("error", () => {});
  await new Promise((resolve) => socket.on("connect", resolve));
  socket.write(
    `GET /v1/events?channel=big&limit=1000 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY_A}\r\n\r\n`,
  );
  socket.pause();
  return socket;
}

describe("requests that never finish arriving", () => {
  it("a body that stalls after its headers gets a 408 envelope and its socket closed; an SSE stream outlives the timeout", async () => {
    const h = await startServer({ requestTimeoutMs: 600, pingMs: 200 });
    const stream = await readSse(h.url, "/v1/channels/slow/stream");
    const stalled = await rawExchange(
      h.url,
      `POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY_A}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n`,
      '{"type":',
    );
    expect(stalled).toMatch(/^HTTP\/1\.1 408 /);
    const body = JSON.parse(stalled.slice(stalled.indexOf("\r\n\r\n") + 4));
    expect(body.error.code).toBe("request_timeout");
    // The stream, open since before, still gets what is published well after the timeout.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const published = await api(at(h), "/v1/events", {
      body: { type: "custom", channel: "slow" },
    });
    expect(published.status).toBe(202);
    await stream.until(() => stream.frames.length === 1);
    expect(stream.frames[0]?.data.type).toBe("custom");
    await stream.close();
  });

  it("a client that never reads its answer has its connection closed at the deadline; one that reads keeps it", {
    timeout: 30_000,
  }, async () => {
    const h = await startServer({ answerDeadlineMs: 500 });
    await storeBigEvents(h);
    const socket = await askNeverRead(h);
    await vi.waitFor(
      () => expect(h.lines.some((l) => /answer not read in time/.test(l))).toBe(true),
      { timeout: 10_000 },
    );
    // Reading now finds the connection cut short, not the rest of the page.
    let received = 0;
    socket.on("data", (chunk: Buffer) => {
      received += chunk.length;
    });
    socket.resume();
    await new Promise((resolve) => socket.on("close", resolve));
    expect(received).toBeLessThan(15_000_000);
    // A reader that reads gets the whole page, however long it is.
    const page = await api(at(h), "/v1/events?channel=big&limit=1000");
    expect(page.status).toBe(200);
    expect(page.body.data.length).toBeGreaterThan(100); // a page of several MB, read whole
  });

  it("a key whose clients leave pages unread is held back with 429 until they are read or cut", {
    timeout: 30_000,
  }, async () => {
    const h = await startServer({
      answerDeadlineMs: 60_000,
      maxUnreadAnswerBytesPerKey: 8_000_000,
    });
    await storeBigEvents(h);
    // Pages of ~4 MB each, never read: past 8 MB unread after the second.
    const stuck = [await askNeverRead(h), await askNeverRead(h), await askNeverRead(h)];
    await vi.waitFor(
      async () => {
        const held = await api(at(h), "/v1/events?channel=big&limit=1");
        expect(held.status).toBe(429);
        expect(held.body.error.code).toBe("rate_limited");
        expect(held.body.error.message).toMatch(/unread/);
      },
      { timeout: 10_000 },
    );
    // Writes go on meanwhile: a slow reader must not cost a publisher of the same key its events.
    expect(
      (await api(at(h), "/v1/events", { body: { type: "custom", channel: "w" } })).status,
    ).toBe(202);
    for (const socket of stuck) socket.destroy();
    await vi.waitFor(
      async () => expect((await api(at(h), "/v1/events?channel=big&limit=1")).status).toBe(200),
      { timeout: 10_000 },
    );
  });

  it("malformed HTTP and oversized headers get 400 and 431 in the hub's envelope, not fastify's", async () => {
    const h = await startServer();
    const envelope = (answer: string) =>
      JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)).error;
    const malformed = await rawExchange(h.url, "NOT-HTTP\r\n\r\n");
    expect(malformed).toMatch(/^HTTP\/1\.1 400 /);
    expect(envelope(malformed).code).toBe("validation_failed");
    // Past Node's 16 KiB of headers.
    const oversized = await rawExchange(
      h.url,
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`,
    );
    expect(oversized).toMatch(/^HTTP\/1\.1 431 /);
    expect(envelope(oversized)).toMatchObject({
      code: "validation_failed",
      message: "request headers too large",
    });
  });
});

describe("HTTP server lifecycle", () => {
  it("pings idle SSE streams with a comment", async () => {
    const h = await startServer({ pingMs: 20 });
    const stream = await readSse(h.url, "/v1/channels/quiet/stream");
    await stream.until(() => stream.raw.includes(": ping\n\n"));
    expect(stream.raw.startsWith("retry: 2000\n\n")).toBe(true);
    expect(stream.frames).toEqual([]);
    await stream.close();
  });

  it("ends streams and answers 503 once shutdown begins, then closes promptly", async () => {
    const h = await startServer();
    const stream = await readSse(h.url, "/v1/channels/c/stream");
    // A connection the client opened and kept idle must not hold shutdown either.
    expect((await api(at(h), "/healthz", { key: null })).status).toBe(200);
    h.closing.abort();
    await stream.until(() => stream.ended);
    const refused = await api(at(h), "/v1/events", { body: { channel: "c", type: "x" } });
    expect(refused.status).toBe(503);
    expect(refused.body.error).toMatchObject({
      code: "unavailable",
      requestId: expect.any(String),
    });
    await h.app.close();
  });

  it("answers 503 on /readyz when the store is down", async () => {
    const h = await startServer({
      wrapStore: override({ ping: async () => false }),
    });
    const res = await api(at(h), "/readyz", { key: null });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe("unavailable");
  });

  it("turns a genuine server fault into a 500 envelope, logged with its request id", async () => {
    const h = await startServer({
      wrapStore: override({
        listEventsJson: async () => {
          throw new Error("disk on fire");
        },
      }),
    });
    const res = await api(at(h), "/v1/events");
    expect(res.status).toBe(500);
    expect(res.body.error).toMatchObject({ code: "internal", message: "internal error" });
    expect(JSON.stringify(res.body)).not.toContain("disk on fire");
    const logged = h.lines.map((l) => JSON.parse(l)).find((l) => l.msg === "request failed");
    expect(logged).toMatchObject({
      level: "error",
      requestId: res.body.error.requestId,
      route: "/v1/events",
    });
    expect(logged.error).toContain("disk on fire");
  });

  it("ends an SSE stream whose store read fails, so the client reconnects and resumes", async () => {
    const h = await startServer({
      wrapStore: override({
        listEventsJson: async () => {
          throw new Error("read failed");
        },
      }),
      // Replay from the store, not from the newest events in memory.
      replayCacheBytes: 0,
    });
    const stream = await readSse(h.url, "/v1/channels/c/stream?after=0");
    await stream.until(() => stream.ended);
    // The stream announced where it starts, then ended without a (wrong) event.
    expect(stream.raw).toMatch(
      /^retry: 2000\n\nid: 0\nevent: chorus\.ready\ndata: \{"after":0,"epoch":"[0-9a-f]{32}"\}\n\n$/,
    );
    expect(h.lines.some((l) => l.includes("sse stream failed"))).toBe(true);
  });
});
