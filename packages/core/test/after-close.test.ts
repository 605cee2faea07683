import { afterEach, describe, expect, it } from "vitest";
import { ConnectionError } from "../src/index.js";
import { client, closeAll, fakeHub, recordingLogger, sleep } from "./helpers.js";

// After close() a client is done: nothing of it may reach the network again, and nothing it
// started may go on waiting. These run against a fake hub that counts what it receives.
afterEach(closeAll);

/** Lets every callback due now run (an abort and the promise jobs after it), without a clock. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("close() ends what waits to send again", () => {
  it("an awaited call asleep before its retry settles at close(), as a closed call, and is not sent again", async () => {
    const fake = await fakeHub((_req, res) => {
      res.writeHead(503, { "content-type": "application/json" });
      res.end('{"error":{"code":"unavailable","message":"down"}}');
    });
    try {
      // A backoff of 0.5–1 s: the calls are asleep when close() runs, long before it ends.
      const chorus = client({ url: fake.url, retryBaseDelayMs: 1000, retryMaxDelayMs: 1000 });
      let settled = 0;
      const open = chorus.events.list({ channel: "t" }).finally(() => settled++);
      const strict = chorus.strict.intents.get("i1").catch((error: unknown) => {
        settled++;
        return error;
      });
      while (fake.requests.length < 2) await sleep(5); // both got their 503
      await chorus.close(100);
      await turn();
      expect(settled).toBe(2);
      expect(await open).toEqual({ data: [] });
      const error = await strict;
      expect(error).toBeInstanceOf(ConnectionError);
      expect(error).toMatchObject({ reason: "closed" });
      // Past the first backoff: nothing was sent again.
      await sleep(1200);
      expect(fake.requests).toHaveLength(2);
    } finally {
      await fake.close();
    }
  });
});

describe("calls after close() fail fast without reaching the network", () => {
  it("events and intents answer the fallback with a warning, the strict view throws ConnectionError (closed)", async () => {
    const fake = await fakeHub((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" }).end('{"data":[]}');
    });
    try {
      const logger = recordingLogger();
      const chorus = client({ url: fake.url, logger });
      await chorus.close(100);
      expect(await chorus.events.list({ channel: "t" })).toEqual({ data: [] });
      expect(await chorus.intents.get("i1")).toBeUndefined();
      expect(await chorus.intents.list({})).toEqual({ data: [] });
      await expect(chorus.strict.events.list({ channel: "t" })).rejects.toMatchObject({
        name: "ConnectionError",
        reason: "closed",
      });
      await expect(chorus.strict.events.publish({ type: "custom" })).rejects.toThrow(
        /not sent: the client is closed/,
      );
      expect(logger.lines.map((l) => l.message)).toContainEqual(
        expect.stringMatching(/^events\.list failed open: .*the client is closed/),
      );
      expect(fake.requests).toHaveLength(0);
    } finally {
      await fake.close();
    }
  });

  it("a stream opened after close() ends at once without connecting, with a warning", async () => {
    const fake = await fakeHub((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" }).write(": hi\n\n");
    });
    try {
      const logger = recordingLogger();
      const chorus = client({ url: fake.url, logger });
      await chorus.close(100);
      const stream = chorus.stream.channel("t", { after: 0 });
      const seen: unknown[] = [];
      for await (const event of stream) seen.push(event);
      expect(seen).toEqual([]);
      expect(stream.connected).toBe(false);
      expect(logger.lines.map((l) => l.message)).toContain(
        "stream opened after close(); it ends at once",
      );
      await sleep(100);
      expect(fake.requests).toHaveLength(0);
    } finally {
      await fake.close();
    }
  });
});
