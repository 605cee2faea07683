import type { ServerResponse } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { classify, ConnectionError, resolveOptions, ValidationError } from "../src/index.js";
import { MAX_ANSWER_BYTES } from "../src/http.js";
import { MAX_TIMER_MS } from "../src/options.js";
import { MAX_ERROR_BODY_BYTES, MAX_MESSAGE_BYTES } from "../src/stream.js";
import { client, closeAll, fakeHub, recordingLogger, sleep } from "./helpers.js";

/**
 * The client's bounds against servers that answer without end or in a loop: memory, reconnects
 * and timers a hostile or broken server at the hub's URL must not be able to run away with.
 */
afterEach(closeAll);

const event = (seq: number) =>
  `id: ${seq}\nevent: custom\ndata: {"seq":${seq},"type":"custom","channel":"c"}\n\n`;

/** Writes `chunk` until `limit` bytes are out or the client hangs up, then ends the answer. */
function pump(res: ServerResponse, chunk: string, limit: number, sent: { written: number }): void {
  const write = () => {
    while (!res.destroyed && sent.written < limit) {
      sent.written += chunk.length;
      if (!res.write(chunk)) return;
    }
    if (!res.destroyed) res.end();
  };
  res.on("drain", write);
  write();
}

/** The value of `promise`, or "pending" if it has not settled after `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | "pending"> {
  return Promise.race([promise, sleep(ms).then(() => "pending" as const)]);
}

describe("a stream whose message never ends", () => {
  it.each([
    ["LF", "\n"],
    ["CR", "\r"],
  ])(
    "data: lines ended by %s without the blank line: dropped past MAX_MESSAGE_BYTES, resumed from its last seq",
    async (_name, eol) => {
      const line = `data: ${"x".repeat(64 * 1024)}${eol}`;
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
        res.write(event(requests.length));
        // Up to 8 × the bound, so the old client's test ends instead of filling the machine.
        if (requests.length === 1) pump(res, line, 8 * MAX_MESSAGE_BYTES, request);
      });
      try {
        const logger = recordingLogger();
        const chorus = client({ url: fake.url, logger });
        const stream = chorus.stream.channel("c", { after: 0 });
        const iterator = stream[Symbol.asyncIterator]();
        expect((await iterator.next()).value).toMatchObject({ seq: 1 });
        expect((await iterator.next()).value).toMatchObject({ seq: 2 });
        expect(requests[1]?.lastEventId).toBe("1");
        // Closed by the client once the message passed the bound, not at the answer's end.
        expect(requests[0]?.written).toBeLessThan(8 * MAX_MESSAGE_BYTES);
        expect(logger.lines.map((l) => l.message)).toContain(
          `stream answer has a message over ${MAX_MESSAGE_BYTES} bytes (no hub sends one); reconnecting`,
        );
        stream.close();
      } finally {
        await fake.close();
      }
    },
    30_000,
  );
});

describe("a stream whose server answers each connection and then nothing useful", () => {
  it("a new chorus.ready epoch on every connection: restarts with backoff, not in a loop", async () => {
    // Two in-memory hubs behind a load balancer: every connection finds another store.
    let connections = 0;
    const fake = await fakeHub((_req, res) => {
      connections++;
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(`event: chorus.ready\nid: 10\ndata: {"epoch":"e${connections}"}\n\n`);
      res.write(event(11));
    });
    try {
      const logger = recordingLogger();
      const chorus = client({ url: fake.url, logger });
      const stream = chorus.stream.channel("c", { after: 10, epoch: "e0" });
      await sleep(2000);
      // Without backoff: hundreds. With it (from 250 ms, doubling): a handful.
      expect(connections).toBeGreaterThan(1);
      expect(connections).toBeLessThan(10);
      expect(logger.lines.map((l) => l.message)).toContain("stream disconnected; reconnecting");
      stream.close();
    } finally {
      await fake.close();
    }
  });

  it.each([
    ["nothing", ""],
    ["only chorus.ready", 'event: chorus.ready\nid: 5\ndata: {"epoch":"e1"}\n\n'],
    ["a retry: 0", "retry: 0\n\n"],
  ])(
    "an answer ended right after its headers and %s: the backoff grows and the reconnects are reported",
    async (_name, body) => {
      let connections = 0;
      const fake = await fakeHub((_req, res) => {
        connections++;
        res.writeHead(200, { "content-type": "text/event-stream" }).end(body);
      });
      try {
        const logger = recordingLogger();
        const chorus = client({ url: fake.url, logger });
        const stream = chorus.stream.channel("c");
        await sleep(3000);
        // A backoff that starts over at every connection reconnects at least 12 times in 3 s;
        // one that grows (250 ms, 500 ms, 1 s, 2 s...) at most 5.
        expect(connections).toBeGreaterThan(1);
        expect(connections).toBeLessThanOrEqual(6);
        expect(logger.lines.map((l) => l.message)).toContain("stream disconnected; reconnecting");
        stream.close();
      } finally {
        await fake.close();
      }
    },
  );

  it("a connection silent after its headers is taken for dead after streamIdleTimeoutMs", async () => {
    let connections = 0;
    const fake = await fakeHub((_req, res) => {
      connections++;
      res.writeHead(200, { "content-type": "text/event-stream" });
      if (connections === 1)
        res.flushHeaders(); // then nothing, not even chorus.ready
      else res.write(event(connections));
    });
    try {
      const logger = recordingLogger();
      const chorus = client({ url: fake.url, logger, streamIdleTimeoutMs: 300 });
      const stream = chorus.stream.channel("c", { after: 0 });
      const next = stream[Symbol.asyncIterator]().next();
      expect(await within(next, 5000)).toMatchObject({ value: { seq: 2 } });
      expect(logger.lines.map((l) => l.message)).toContain(
        "stream received nothing for 300 ms; reconnecting",
      );
      stream.close();
    } finally {
      await fake.close();
    }
  });

  it("accepts the SSE media type in any case", async () => {
    const fake = await fakeHub((_req, res) => {
      res.writeHead(200, { "content-type": "Text/Event-Stream; charset=UTF-8" });
      res.write(event(1));
    });
    try {
      const chorus = client({ url: fake.url });
      const stream = chorus.stream.channel("c", { after: 0 });
      expect((await stream[Symbol.asyncIterator]().next()).value).toMatchObject({ seq: 1 });
      stream.close();
    } finally {
      await fake.close();
    }
  });
});

describe("answers without end", () => {
  it("a stream's 503 whose body never ends: read up to MAX_ERROR_BODY_BYTES, then reconnected", async () => {
    const sent: { written: number; closed: boolean }[] = [];
    const fake = await fakeHub((_req, res) => {
      const answer = { written: 0, closed: false };
      sent.push(answer);
      res.on("close", () => {
        answer.closed = true;
      });
      res.writeHead(503, { "content-type": "application/json" });
      pump(res, " ".repeat(64 * 1024), 16 * 1024 * 1024, answer);
    });
    try {
      const chorus = client({ url: fake.url });
      const stream = chorus.stream.channel("c");
      const reading = stream[Symbol.asyncIterator]()
        .next()
        .catch(() => undefined);
      const deadline = Date.now() + 10_000;
      while (sent.length < 2 && Date.now() < deadline) await sleep(10);
      expect(sent.length).toBeGreaterThan(1);
      expect(sent[0]?.closed).toBe(true);
      // Cut by the client (plus what the sockets held), not read to its end.
      expect(sent[0]?.written).toBeLessThan(16 * 1024 * 1024);
      expect(sent[0]?.written).toBeGreaterThan(MAX_ERROR_BODY_BYTES);
      stream.close();
      await reading;
    } finally {
      await fake.close();
    }
  }, 20_000);

  it("an awaited call whose answer passes MAX_ANSWER_BYTES fails with a ValidationError", async () => {
    const sent = { written: 0 };
    const fake = await fakeHub((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      // Spaces (valid JSON whitespace) up to 4 × the bound, so the old client's test ends.
      pump(res, " ".repeat(64 * 1024), 4 * MAX_ANSWER_BYTES, sent);
    });
    try {
      const chorus = client({ url: fake.url, timeoutMs: 60_000 });
      const error = await chorus.strict.intents.get("abc").then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as Error).message).toContain(`with a body over ${MAX_ANSWER_BYTES} bytes`);
      expect(sent.written).toBeLessThan(4 * MAX_ANSWER_BYTES);
    } finally {
      await fake.close();
    }
  }, 60_000);
});

describe("a 4xx whose error code this client does not know", () => {
  const body = '{"error":{"code":"bad_request","message":"m"}}';

  it.each([400, 405, 410, 415])(
    "%i is a caller error by its status: fail-open rejects, the strict view throws a ValidationError",
    async (status) => {
      const fake = await fakeHub((_req, res) => {
        res.writeHead(status, { "content-type": "application/json" }).end(body);
      });
      try {
        const chorus = client({ url: fake.url });
        const failOpen = await chorus.intents.get("abc").then(
          (value) => ({ value }),
          (e: unknown) => e,
        );
        expect(failOpen).toBeInstanceOf(ValidationError);
        const strict = await chorus.strict.intents.get("abc").catch((e: unknown) => e);
        expect(strict).toBeInstanceOf(ValidationError);
        expect(strict).not.toBeInstanceOf(ConnectionError);
        expect(classify(strict).kind).toBe("caller");
      } finally {
        await fake.close();
      }
    },
  );

  it("a stream answered 400 with it ends with the ValidationError instead of retrying", async () => {
    const fake = await fakeHub((_req, res) => {
      res.writeHead(400, { "content-type": "application/json" }).end(body);
    });
    try {
      const chorus = client({ url: fake.url });
      const stream = chorus.stream.channel("c");
      const next = stream[Symbol.asyncIterator]()
        .next()
        .catch((e: unknown) => e);
      expect(await within(next, 5000)).toBeInstanceOf(ValidationError);
      expect(fake.requests).toHaveLength(1);
      stream.close();
    } finally {
      await fake.close();
    }
  });
});

describe("timeouts beyond what a timer takes", () => {
  it.each([2 ** 31, 30 * 24 * 3600 * 1000, Number.POSITIVE_INFINITY])(
    "flush(%d) waits for the hub instead of giving up at once",
    async (timeoutMs) => {
      const fake = await fakeHub((_req, res) => {
        setTimeout(() => {
          res.writeHead(202, { "content-type": "application/json" });
          res.end('{"accepted":1,"duplicates":0,"ids":[]}');
        }, 200);
      });
      try {
        const chorus = client({ url: fake.url });
        chorus.emit({ type: "custom", payload: {} });
        expect(await chorus.flush(timeoutMs)).toBe(true);
        expect(chorus.stats()).toMatchObject({ sent: 1 });
      } finally {
        await fake.close();
      }
    },
  );

  it.each([2 ** 31, 3e9])(
    "timeoutMs %d is taken as the longest timer, not as an instant timeout",
    async (timeoutMs) => {
      expect(resolveOptions({ timeoutMs }, {}).options.timeoutMs).toBe(MAX_TIMER_MS);
      const fake = await fakeHub((_req, res) => {
        setTimeout(() => {
          res.writeHead(200, { "content-type": "application/json" }).end('{"id":"a","version":1}');
        }, 50);
      });
      try {
        const chorus = client({ url: fake.url, timeoutMs, maxRetries: 0 });
        expect(await chorus.strict.intents.get("a")).toMatchObject({ id: "a" });
      } finally {
        await fake.close();
      }
    },
  );
});
