import { spawn } from "node:child_process";
import { type AddressInfo, createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Hub } from "@chorus/hub";
import { startHangingServer } from "../bench/servers.js";
import {
  closeAll,
  client,
  fakeHub,
  KEY_A,
  refusedPort,
  startHub,
  storedEvents,
} from "./helpers.js";

// A process using Chorus must end when its own work ends, whatever the hub does. Each case runs
// in a child process with a request timeout of a minute: if any socket, timer or in-flight
// request of ours held the event loop, the child would live for that minute, far past the
// watchdog below. These are not timing tests: the margin is a factor of ten or more.
const dist = fileURLToPath(new URL("../dist/index.js", import.meta.url));
const WATCHDOG_MS = 20_000;
const REQUEST_TIMEOUT_MS = 60_000;

function script(close: boolean): string {
  return `
    import { Chorus } from ${JSON.stringify(dist)};
    const chorus = new Chorus({ channel: "exit", flushIntervalMs: 50 });
    for (let i = 0; i < 20; i++) chorus.emit({ type: "custom", payload: { i } });
    ${close ? "await chorus.close(500);" : "// no close: the process just ends"}
  `;
}

function run(url: string, close: boolean | string) {
  return new Promise<{ code: number | null; signal: string | null; ms: number }>((resolve) => {
    const started = Date.now();
    const code = typeof close === "string" ? close : script(close);
    const child = spawn(process.execPath, ["--input-type=module", "-e", code], {
      env: {
        ...process.env,
        CHORUS_URL: url,
        CHORUS_API_KEY: KEY_A,
        CHORUS_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
        CHORUS_DRAIN_TIMEOUT_MS: "500",
        CHORUS_LOG_LEVEL: "silent",
      },
      stdio: "ignore",
    });
    const watchdog = setTimeout(() => child.kill("SIGKILL"), WATCHDOG_MS);
    child.on("exit", (code, signal) => {
      clearTimeout(watchdog);
      resolve({ code, signal, ms: Date.now() - started });
    });
  });
}

describe("nothing of Chorus keeps a process alive", () => {
  let hub: Hub;
  beforeAll(async () => {
    hub = await startHub();
  });
  afterAll(async () => {
    await closeAll();
    await hub.close();
  });

  for (const close of [true, false]) {
    const how = close ? "with close(500)" : "without close (exit drain)";

    it(`hub up, ${how}: exits 0 and every event is stored`, async () => {
      const before = (await storedEvents(hub, { channel: "exit" })).length;
      const { code, signal } = await run(hub.url, close);
      expect(signal).toBeNull();
      expect(code).toBe(0);
      const stored = await storedEvents(hub, { channel: "exit" });
      expect(stored.length - before).toBe(20);
    });

    it(`hub down, ${how}: exits 0 without waiting out any timeout`, async () => {
      const port = await refusedPort();
      const { code, signal } = await run(`http://127.0.0.1:${port}`, close);
      expect(signal).toBeNull();
      expect(code).toBe(0);
    });

    it(`hub accepting and never answering, ${how}: exits 0 though a request hangs`, async () => {
      const hanging = await startHangingServer();
      try {
        const { code, signal } = await run(hanging.url, close);
        expect(signal).toBeNull(); // not killed by the watchdog
        expect(code).toBe(0);
      } finally {
        await hanging.stop();
      }
    });
  }

  it("an answered awaited call leaves nothing holding the process (its keep-alive socket is let go)", async () => {
    // The hub keeps an idle connection open for over a minute: a socket still ref'd after the
    // answer would keep the child alive past the watchdog.
    const { code, signal } = await run(
      hub.url,
      `
        import { Chorus } from ${JSON.stringify(dist)};
        process.exitCode = 5;
        const chorus = new Chorus({ channel: "exit", failOpen: false, drainOnExit: false });
        const page = await chorus.events.list({ channel: "exit" });
        process.exitCode = Array.isArray(page.data) ? 0 : 4;
        // no close: the process just ends
      `,
    );
    expect(signal).toBeNull(); // not killed by the watchdog
    expect(code).toBe(0);
  });

  it("an awaited call against a server that accepts and closes at once settles, and the code after it runs", async () => {
    // A port-forward with nothing behind it: Node 20's `fetch` left such a request pending with
    // nothing holding the event loop, so the process exited 0 in the middle of the `await`.
    // The exit code is 5 until every call has settled, so an exit mid-await is caught (and an
    // unsettled top-level await would be 13).
    const closing = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => closing.listen(0, "127.0.0.1", resolve));
    const { port } = closing.address() as AddressInfo;
    try {
      const { code, signal } = await run(
        `http://127.0.0.1:${port}`,
        `
        import { Chorus } from ${JSON.stringify(dist)};
        process.exitCode = 5;
        const chorus = new Chorus({ channel: "exit", failOpen: false, maxRetries: 0 });
        const outcomes = [];
        for (const call of [
          () => chorus.events.publish([{ type: "custom" }]),
          () => chorus.events.list({ channel: "exit" }),
          () => chorus.intents.get("intent-1"),
        ]) {
          try {
            await call();
            outcomes.push("answered");
          } catch (error) {
            outcomes.push(error.name + ":" + error.reason);
          }
        }
        await chorus.close(500);
        process.exitCode = outcomes.every((o) => o === "ConnectionError:network") ? 0 : 4;
      `,
      );
      expect(signal).toBeNull(); // not killed by the watchdog
      expect(code).toBe(0); // 5: exited mid-await; 4: a call did not fail as a network error
    } finally {
      await new Promise((resolve) => closing.close(resolve));
    }
  });

  it("an awaited call waiting to retry when close() runs settles then, sends nothing more, and lets the process exit", async () => {
    // The first attempt gets a 503 and the call sleeps its backoff; a retry sent after close()
    // would hang on this server for the request timeout (a minute), past the watchdog.
    const hub = await fakeHub((_req, res, _body, index) => {
      if (index === 0) res.writeHead(503).end('{"error":{"code":"unavailable","message":"down"}}');
    });
    try {
      const { code, signal } = await run(
        hub.url,
        `
        import { Chorus } from ${JSON.stringify(dist)};
        const chorus = new Chorus({ channel: "exit", retryBaseDelayMs: 2000 });
        let outcome = "pending";
        chorus.events.list({ channel: "exit" }).then(
          (page) => { outcome = page.data.length === 0 ? "fallback" : "page"; },
          () => { outcome = "rejected"; },
        );
        await new Promise((resolve) => setTimeout(resolve, 300)); // answered 503, now asleep
        await chorus.close(500);
        await new Promise((resolve) => setImmediate(resolve));
        process.exitCode = outcome === "fallback" ? 0 : 3;
      `,
      );
      expect(signal).toBeNull(); // not killed by the watchdog
      expect(code).toBe(0); // 3: the call had not settled when close() returned
      expect(hub.requests).toHaveLength(1);
    } finally {
      await hub.close();
    }
  });

  it("a stream opened after close() neither connects nor holds the process", async () => {
    const sse = await fakeHub((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" }).write(": hi\n\n");
    });
    try {
      const { code, signal } = await run(
        sse.url,
        `
        import { Chorus } from ${JSON.stringify(dist)};
        const chorus = new Chorus({ channel: "exit" });
        await chorus.close(500);
        let events = 0;
        for await (const _event of chorus.stream.channel("exit")) events++;
        process.exitCode = events === 0 ? 0 : 3;
      `,
      );
      expect(signal).toBeNull(); // not killed by the watchdog
      expect(code).toBe(0);
      expect(sse.requests).toHaveLength(0);
    } finally {
      await sse.close();
    }
  });

  it("a stream dropped by a server that asked for a long `retry:` leaves no timer behind", async () => {
    // The SSE client arms its own reconnect timer of the server's `retry:` after a drop; the
    // stream reconnects by itself, so that timer (ten minutes here) must not outlive close().
    let connections = 0;
    const sse = await fakeHub((_req, res) => {
      connections++;
      res.writeHead(200, { "content-type": "text/event-stream" });
      const event = (seq: number) =>
        `id: ${seq}\nevent: custom\ndata: {"seq":${seq},"type":"custom"}\n\n`;
      if (connections === 1) res.end(`retry: 600000\n\n${event(1)}`);
      else res.write(event(2));
    });
    try {
      const { code, signal } = await run(
        sse.url,
        `
        import { Chorus } from ${JSON.stringify(dist)};
        const chorus = new Chorus({ channel: "exit" });
        const seqs = [];
        for await (const event of chorus.stream.channel("exit", { after: 0 })) {
          seqs.push(event.seq);
          if (event.seq === 2) break;
        }
        await chorus.close(500);
        if (seqs.join() !== "1,2") process.exitCode = 3;
      `,
      );
      expect(signal).toBeNull(); // not killed by the watchdog
      expect(code).toBe(0);
      expect(connections).toBe(2);
    } finally {
      await sse.close();
    }
  });

  it("delivering batches does not load Node's bundled undici (the global fetch's 40 ms of startup)", async () => {
    const before = (await storedEvents(hub, { channel: "exit" })).length;
    const { code, signal } = await run(
      hub.url,
      `
        import { Chorus } from ${JSON.stringify(dist)};
        const chorus = new Chorus({ channel: "exit" });
        for (let i = 0; i < 20; i++) chorus.emit({ type: "custom", payload: { i } });
        const delivered = await chorus.flush(10000);
        await chorus.close(500);
        const undici = process.moduleLoadList.some((m) => m.includes("undici"));
        process.exitCode = !delivered ? 2 : undici ? 3 : 0;
      `,
    );
    expect(signal).toBeNull();
    expect(code).toBe(0); // 2: not delivered, 3: undici was loaded
    expect((await storedEvents(hub, { channel: "exit" })).length - before).toBe(20);
  });

  it("close(timeout) aborts the request in flight and counts its events as dropped", async () => {
    const hanging = await startHangingServer();
    try {
      const chorus = client({ url: hanging.url, timeoutMs: REQUEST_TIMEOUT_MS });
      for (let i = 0; i < 5; i++) chorus.emit({ type: "custom" });
      expect(await chorus.flush(200)).toBe(false); // in flight, unanswered
      expect(hanging.accepted).toBeGreaterThan(0);
      await chorus.close(100);
      expect(chorus.stats()).toMatchObject({ sent: 0, dropped: 5, queued: 0 });
    } finally {
      await hanging.stop();
    }
  });

  it("close() with the hub refusing connections returns without waiting out its timeout", async () => {
    const port = await refusedPort();
    const chorus = client({ url: `http://127.0.0.1:${port}`, retryBaseDelayMs: 5_000 });
    chorus.emit({ type: "custom" });
    // If close() sat out its timeout, this test would exceed vitest's own timeout (set below).
    await chorus.close(60_000);
    expect(chorus.stats()).toMatchObject({ sent: 0, dropped: 1 });
  }, 20_000);
});

describe("linger batching", () => {
  it("a steady trickle goes out in full batches, not one request per event", async () => {
    const hub = await fakeHub((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"data":[]}');
    });
    try {
      // One event every 2 ms for ~0.8 s; each request takes well under 2 ms on loopback, so
      // without a linger nearly every event would go out on its own.
      const chorus = client({ url: hub.url, flushIntervalMs: 100, maxBatchSize: 1000 });
      for (let i = 0; i < 400; i++) {
        chorus.emit({ type: "custom", payload: { i } });
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      expect(await chorus.flush(5000)).toBe(true);
      const sizes = hub.requests
        .filter((r) => r.path === "/v1/events")
        .map((r) => (JSON.parse(r.body) as { events: unknown[] }).events.length);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(400);
      // A 100 ms linger at ≤ 500 ev/s: batches of tens of events; a few requests in all.
      expect(sizes.length).toBeLessThan(40);
      await chorus.close(100);
    } finally {
      await hub.close();
    }
  });

  it("a full batch goes at once and flush() never waits for the linger", async () => {
    const hub = await fakeHub((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"data":[]}');
    });
    try {
      // A linger of ten minutes: anything that waited for it would time out below.
      const chorus = client({ url: hub.url, flushIntervalMs: 600_000, maxBatchSize: 10 });
      for (let i = 0; i < 10; i++) chorus.emit({ type: "custom" });
      await new Promise<void>((resolve) => {
        const check = () => (hub.requests.length > 0 ? resolve() : setTimeout(check, 5));
        check();
      });
      expect(JSON.parse(hub.requests[0]?.body ?? "{}").events).toHaveLength(10);
      chorus.emit({ type: "custom" });
      expect(await chorus.flush(5000)).toBe(true);
      expect(hub.requests).toHaveLength(2);
      await chorus.close(100);
    } finally {
      await hub.close();
    }
  }, 20_000);
});
