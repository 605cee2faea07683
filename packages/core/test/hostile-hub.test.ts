import type { ServerResponse } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { type ChorusError, ConnectionError, ValidationError } from "../src/index.js";
import { MAX_MESSAGE_BYTES } from "../src/stream.js";
import { client, closeAll, fakeHub, recordingLogger, waitFor } from "./helpers.js";

/**
 * The client against servers that misbehave as a hub (or something at its URL) might: answers
 * the client must neither count as delivered nor retry forever, bodies of the wrong shape.
 */
afterEach(closeAll);

describe("a hub that answers what a hub should not", () => {
  it.each([
    [301, ValidationError],
    [307, ValidationError],
    [405, ValidationError],
    [410, ValidationError],
  ])(
    "a batch answered %i is refused once: not counted as sent, not retried",
    async (status, type) => {
      const fake = await fakeHub((_req, res) => {
        res.writeHead(status, { location: "http://127.0.0.1:9/v1/events" }).end();
      });
      try {
        const chorus = client({ url: fake.url });
        for (let i = 0; i < 3; i++) chorus.emit({ type: "custom", payload: { i } });
        expect(await chorus.flush(5000)).toBe(true);
        expect(chorus.stats()).toMatchObject({ sent: 0, failed: 3, retried: 0, queued: 0 });
        expect(fake.requests).toHaveLength(1);
        expect(chorus.errors.map((e) => e.error)).toEqual([expect.any(type)]);
        expect(chorus.errors.map((e) => (e.error as ChorusError).status)).toEqual([status]);
      } finally {
        await fake.close();
      }
    },
  );
});

describe("a 2xx answer to a batch that is not the hub's answer", () => {
  it.each([
    [200, "text/html", "<html>a web page</html>"],
    [200, "application/json", ""],
    [200, "application/json", "null"],
    [202, "application/json", "[]"],
    [204, "application/json", ""],
    // JSON objects that are not `{ accepted, duplicates, ids }`: a proxy's or health check's.
    [200, "application/json", "{}"],
    [200, "application/json", '{"status":"ok"}'],
    [200, "application/json", '{"error":{"code":"internal","message":"proxy says no"}}'],
    [202, "application/json", '{"accepted":3}'],
  ])(
    "%i %s %j: the events are counted as failed, not sent, with a warning about the URL",
    async (status, type, body) => {
      const fake = await fakeHub((_req, res) => {
        res.writeHead(status, { "content-type": type }).end(body);
      });
      try {
        const logger = recordingLogger();
        const chorus = client({ url: fake.url, logger });
        for (let i = 0; i < 3; i++) chorus.emit({ type: "custom", payload: { i } });
        expect(await chorus.flush(5000)).toBe(true);
        expect(chorus.stats()).toMatchObject({ sent: 0, failed: 3, retried: 0, queued: 0 });
        expect(fake.requests).toHaveLength(1);
        expect(logger.lines.map((l) => l.message)).toContainEqual(
          expect.stringMatching(
            new RegExp(
              `answered ${status} with no hub's answer, so 3 events were dropped: is .* the hub's base URL`,
            ),
          ),
        );
      } finally {
        await fake.close();
      }
    },
  );

  it("the hub's answer ({ accepted, duplicates, ids }): the events count as sent", async () => {
    const fake = await fakeHub((_req, res) => {
      res
        .writeHead(202, { "content-type": "application/json" })
        .end('{"accepted":3,"duplicates":0,"ids":["a","b","c"]}');
    });
    try {
      const chorus = client({ url: fake.url });
      for (let i = 0; i < 3; i++) chorus.emit({ type: "custom", payload: { i } });
      expect(await chorus.flush(5000)).toBe(true);
      expect(chorus.stats()).toMatchObject({ sent: 3, failed: 0 });
    } finally {
      await fake.close();
    }
  });
});

describe("an SSE server that sends what a hub would not", () => {
  it("hands out only messages whose data is a JSON object with a usable seq", async () => {
    const fake = await fakeHub((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write('id: 0\nevent: chorus.ready\ndata: {"epoch":"e1"}\n\n');
      for (const data of ["5", "null", '"text"', "[1,2]", "not json", ""])
        res.write(`event: custom\ndata: ${data}\n\n`);
      // Cursors no hub writes: taken as the last seq, they would skip every event after them.
      for (const seq of ["1e300", "-1", "2.5", '"7"', "null"])
        res.write(`event: custom\ndata: {"seq":${seq},"type":"custom","channel":"c"}\n\n`);
      res.write('id: 1\nevent: custom\ndata: {"seq":1,"type":"custom","channel":"c"}\n\n');
    });
    try {
      const logger = recordingLogger();
      const chorus = client({ url: fake.url, logger });
      const stream = chorus.stream.channel("c", { after: 0 });
      const iterator = stream[Symbol.asyncIterator]();
      const first = await iterator.next();
      expect(first.value).toMatchObject({ seq: 1, type: "custom" });
      expect(logger.lines.map((l) => l.message)).toContain(
        "ignored an SSE message that is not a JSON object",
      );
      expect(logger.lines.map((l) => l.message)).toContain(
        "ignored an SSE message whose seq is not a positive integer",
      );
      stream.close();
    } finally {
      await fake.close();
    }
  });
});

describe("a stream whose connection goes silent without closing", () => {
  it("is taken for dead after streamIdleTimeoutMs and resumed from its last seq", async () => {
    // The first connection sends one event and then nothing, not even a ping, and never closes
    // (a hub that lost power, a NAT that forgot the flow). The second resumes.
    const lastEventIds: (string | undefined)[] = [];
    const fake = await fakeHub((req, res) => {
      lastEventIds.push(req.headers["last-event-id"] as string | undefined);
      res.writeHead(200, { "content-type": "text/event-stream" });
      const seq = lastEventIds.length;
      res.write(
        `id: ${seq}\nevent: custom\ndata: {"seq":${seq},"type":"custom","channel":"c"}\n\n`,
      );
    });
    try {
      const logger = recordingLogger();
      const chorus = client({ url: fake.url, logger, streamIdleTimeoutMs: 300 });
      const stream = chorus.stream.channel("c", { after: 0 });
      const iterator = stream[Symbol.asyncIterator]();
      expect((await iterator.next()).value).toMatchObject({ seq: 1 });
      expect((await iterator.next()).value).toMatchObject({ seq: 2 });
      expect(lastEventIds.slice(0, 2)).toEqual(["0", "1"]);
      expect(logger.lines.map((l) => l.message)).toContain(
        "stream received nothing for 300 ms; reconnecting",
      );
      stream.close();
    } finally {
      await fake.close();
    }
  });
});

describe("a 503 whose Retry-After asks for no wait", () => {
  it.each([["0"], ["Thu, 01 Jan 2026 00:00:00 GMT"]])(
    "Retry-After %s: the stream and the sender still back off instead of retrying at once",
    async (retryAfter) => {
      // A proxy's 503, or a date already past on this machine's clock. The margin is wide:
      // about 450 requests a second without backoff, a handful with it.
      let requests = 0;
      const fake = await fakeHub((_req, res) => {
        requests++;
        res.writeHead(503, { "retry-after": retryAfter, "content-type": "application/json" });
        res.end('{"error":{"code":"unavailable","message":"down"}}');
      });
      try {
        const chorus = client({ url: fake.url, logger: false });
        const stream = chorus.stream.channel("c");
        const reading = stream[Symbol.asyncIterator]()
          .next()
          .catch(() => undefined);
        chorus.emit({ type: "custom", channel: "c" });
        await new Promise((resolve) => setTimeout(resolve, 1000));
        expect(requests).toBeGreaterThan(1);
        expect(requests).toBeLessThan(50);
        stream.close();
        await reading;
      } finally {
        await fake.close();
      }
    },
  );
});

describe("a stream answered with a line that never ends", () => {
  it("drops the connection past MAX_MESSAGE_BYTES instead of buffering it, and resumes from its last seq", async () => {
    // A server that is no hub streams one endless line: the SSE parser would keep all of it.
    const chunk = "x".repeat(64 * 1024);
    const requests: { lastEventId: string | undefined; written: number; closed: boolean }[] = [];
    const fake = await fakeHub((req, res) => {
      const request = {
        lastEventId: req.headers["last-event-id"] as string | undefined,
        written: 0,
        closed: false,
      };
      requests.push(request);
      res.on("close", () => {
        request.closed = true;
      });
      res.writeHead(200, { "content-type": "text/event-stream" });
      const seq = requests.length;
      res.write(
        `id: ${seq}\nevent: custom\ndata: {"seq":${seq},"type":"custom","channel":"c"}\n\n`,
      );
      if (seq > 1) return;
      res.write("data: ");
      // Up to 8 × the bound, so the old client's test ends instead of filling the machine.
      const pump = () => {
        while (!request.closed && request.written < 8 * MAX_MESSAGE_BYTES) {
          request.written += chunk.length;
          if (!res.write(chunk)) return;
        }
      };
      res.on("drain", pump);
      pump();
    });
    try {
      const logger = recordingLogger();
      const chorus = client({ url: fake.url, logger });
      const stream = chorus.stream.channel("c", { after: 0 });
      const iterator = stream[Symbol.asyncIterator]();
      expect((await iterator.next()).value).toMatchObject({ seq: 1 });
      expect((await iterator.next()).value).toMatchObject({ seq: 2 });
      expect(requests[0]?.closed).toBe(true);
      expect(requests[1]?.lastEventId).toBe("1");
      // Closed once the line passed the bound (plus what the sockets held), not at the end.
      expect(requests[0]?.written).toBeLessThan(8 * MAX_MESSAGE_BYTES);
      expect(logger.lines.map((l) => l.message)).toContain(
        `stream answer has a message over ${MAX_MESSAGE_BYTES} bytes (no hub sends one); reconnecting`,
      );
      stream.close();
    } finally {
      await fake.close();
    }
  }, 30_000);
});

describe("a stream whose reader stops reading large events", () => {
  it("pauses by size, not only by count, and resumes from its last seq with nothing lost", async () => {
    // 100 events of 300 KB each, far fewer than the 1000 events the count alone allows, but
    // 30 MB of text: the stream must close the connection rather than buffer all of it.
    const big = "x".repeat(300 * 1024);
    const frame = (seq: number) =>
      `id: ${seq}\nevent: custom\ndata: {"seq":${seq},"type":"custom","channel":"c","payload":{"text":"${big}"}}\n\n`;
    const requests: { lastEventId: string | undefined; closed: boolean }[] = [];
    const fake = await fakeHub((req, res) => {
      const request = {
        lastEventId: req.headers["last-event-id"] as string | undefined,
        closed: false,
      };
      requests.push(request);
      res.on("close", () => {
        request.closed = true;
      });
      res.writeHead(200, { "content-type": "text/event-stream" });
      for (let seq = Number(request.lastEventId ?? 0) + 1; seq <= 100; seq++) res.write(frame(seq));
    });
    try {
      const chorus = client({ url: fake.url });
      const stream = chorus.stream.channel("c", { after: 0 });
      const iterator = stream[Symbol.asyncIterator]();
      expect((await iterator.next()).value).toMatchObject({ seq: 1 });
      // The reader now stops: the first connection is closed while events are still unread.
      await waitFor(() => requests[0]?.closed === true, 20_000, "the paused connection to close");
      const seqs = [1];
      while (seqs.length < 100) seqs.push(((await iterator.next()).value as { seq: number }).seq);
      expect(seqs).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
      expect(requests.length).toBeGreaterThan(1);
      expect(Number(requests[1]?.lastEventId)).toBeGreaterThan(1);
      expect(Number(requests[1]?.lastEventId)).toBeLessThan(100);
      stream.close();
    } finally {
      await fake.close();
    }
  });
});

describe("a stream answered by a server that is not a hub", () => {
  it("ends with a ValidationError instead of reconnecting forever when the answer is not text/event-stream", async () => {
    const fake = await fakeHub((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" }).end("<html>a web page</html>");
    });
    try {
      const chorus = client({ url: fake.url, logger: false });
      const stream = chorus.stream.channel("c", { after: 0 });
      const error = await stream[Symbol.asyncIterator]()
        .next()
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).message).toContain("not text/event-stream");
      expect(fake.requests.filter((r) => r.path.includes("/stream"))).toHaveLength(1);
    } finally {
      await fake.close();
    }
  });
});

describe("awaited calls against a 200 whose body is not what the hub answers", () => {
  const bodies = [
    "",
    "not json",
    '{"data":',
    "null",
    "5",
    '"text"',
    "[]",
    '{"data":5}',
    '{"data":[1]}',
    '{"accepted":1,"duplicates":0}',
    '{"accepted":1,"duplicates":0,"ids":"e1"}',
    '{"accepted":1,"duplicates":0,"ids":[1]}',
  ];
  it.each(bodies)(
    "%j: the fallback under fail-open, a ConnectionError from the strict view",
    async (body) => {
      const fake = await fakeHub((_req, res) => {
        res.writeHead(200, { "content-type": "application/json" }).end(body);
      });
      try {
        const chorus = client({ url: fake.url, maxRetries: 0 });
        expect(await chorus.events.list({})).toEqual({ data: [] });
        expect(await chorus.intents.list({})).toEqual({ data: [] });
        expect(await chorus.intents.events("i1")).toEqual({ data: [] });
        expect(await chorus.intents.get("i1")).toBeUndefined();
        expect(await chorus.intents.patchState("i1", { a: 1 })).toBeUndefined();
        await expect(chorus.strict.intents.get("i1")).rejects.toThrow(ConnectionError);
        await expect(chorus.strict.events.list({})).rejects.toThrow(/is not a page/);
        // None of these bodies is a publish answer either (`{ ids: [...] }`).
        expect(await chorus.events.publish({ type: "custom" })).toBeUndefined();
        await expect(chorus.strict.events.publish({ type: "custom" })).rejects.toThrow(
          /is not a publish answer/,
        );
      } finally {
        await fake.close();
      }
    },
  );
});

describe("a hub whose answer to a batch never ends", () => {
  it("reads no more than a bounded body: an answer without end is no hub's, and is not buffered", async () => {
    let cut = false;
    const fake = await fakeHub((_req, res) => {
      res.writeHead(202, { "content-type": "application/json" });
      const chunk = Buffer.alloc(64 * 1024, 32);
      // Spaces without end (valid JSON whitespace), until the client stops reading.
      const write = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once("drain", write);
      };
      res.on("close", () => {
        cut = true;
      });
      write();
    });
    try {
      // The request timeout is far beyond the test's: only reading less than the whole body ends it.
      const chorus = client({ url: fake.url, timeoutMs: 600_000 });
      for (let i = 0; i < 3; i++) chorus.emit({ type: "custom", payload: { i } });
      expect(await chorus.flush(60_000)).toBe(true);
      expect(chorus.stats()).toMatchObject({ sent: 0, retried: 0, failed: 3, queued: 0 });
      await waitFor(() => cut, 10_000, "the client to close the endless answer");
    } finally {
      await fake.close();
    }
  }, 90_000);
});

describe("a URL that answers with a redirect", () => {
  it.each([301, 302, 307, 308])(
    "%i: nothing is followed (the key would go along); awaited calls and batches name where it points",
    async (status) => {
      const fake = await fakeHub((req, res) => {
        res.writeHead(status, { location: `https://hub.example.com${req.url}` }).end();
      });
      try {
        const chorus = client({ url: fake.url, maxRetries: 0 });
        const error = await chorus.events.list({}).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ValidationError);
        expect((error as ValidationError).message).toContain(
          `answered ${status}, a redirect to https://hub.example.com: Chorus does not follow redirects`,
        );
        chorus.emit({ type: "custom" });
        expect(await chorus.flush(5000)).toBe(true);
        expect(chorus.stats().failed).toBe(1);
        // Two requests, both to the URL given: none to the redirect's target.
        expect(fake.requests.map((r) => r.path)).toEqual(["/v1/events", "/v1/events"]);
      } finally {
        await fake.close();
      }
    },
  );
});

describe("awaited calls at once", () => {
  it("twenty concurrent calls are twenty requests in flight, not a queue behind a socket pool", async () => {
    // An agent runner's handlers write concurrently. The server answers only once all twenty
    // are open: a pool of fewer sockets would hold the rest back until their timeout.
    const held: ServerResponse[] = [];
    const fake = await fakeHub((_req, res) => {
      held.push(res);
      if (held.length === 20)
        for (const r of held)
          r.writeHead(200, { "content-type": "application/json" }).end('{"data":[]}');
    });
    try {
      const chorus = client({ url: fake.url, maxRetries: 0, failOpen: false, timeoutMs: 10_000 });
      const pages = await Promise.all(
        Array.from({ length: 20 }, (_, i) => chorus.events.list({ channel: `c${i}` })),
      );
      expect(pages.every((p) => p.data.length === 0)).toBe(true);
      expect(fake.requests).toHaveLength(20);
    } finally {
      await fake.close();
    }
  });
});
