import { describe, expect, it } from "vitest";
import {
  BoundedMap,
  createSafely,
  isChorusClient,
  resolveAdapterLogger,
  resolveClient,
  SpanRecorder,
  silentLogger,
  spanUnder,
} from "../src/adapter-kit/index.js";
import {
  Chorus,
  type ChorusOptions,
  type EmitEvent,
  type Logger,
  TraceIdPool,
} from "../src/index.js";

const quiet: ChorusOptions = { enabled: false, logger: false, drainOnExit: false };

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    debug: (m) => lines.push(`debug ${m}`),
    info: (m) => lines.push(`info ${m}`),
    warn: (m) => lines.push(`warn ${m}`),
    error: (m) => lines.push(`error ${m}`),
  };
}

describe("BoundedMap", () => {
  it("never holds more than its limit, evicting the oldest insertion first, and counts it", () => {
    const runs = new BoundedMap<string, number>(3);
    for (let i = 0; i < 5; i++) runs.set(`r${i}`, i);
    expect(runs.size).toBe(3);
    expect(runs.evicted).toBe(2);
    expect(runs.has("r0")).toBe(false);
    expect(runs.has("r1")).toBe(false);
    expect(runs.get("r4")).toBe(4);
    expect(runs.take("r4")).toBe(4);
    expect(runs.take("r4")).toBeUndefined(); // a second end of the same run finds nothing
  });

  it("setting a key again makes it the newest", () => {
    const map = new BoundedMap<string, number>(2);
    map.set("a", 1);
    map.set("b", 2);
    map.set("a", 3);
    map.set("c", 4);
    expect(map.get("b")).toBeUndefined();
    expect(map.get("a")).toBe(3);
    expect(map.evicted).toBe(1);
    expect(map.delete("a")).toBe(true);
    map.clear();
    expect(map.size).toBe(0);
  });

  it("as a cache (refreshOnGet), a read makes an entry the newest: the least recently used goes", () => {
    const cache = new BoundedMap<string, number>(2, { refreshOnGet: true });
    cache.set("a", 1);
    cache.set("b", 2);
    expect(cache.get("a")).toBe(1); // "a" is now the most recently used
    expect(cache.has("b")).toBe(true); // has() is not a use
    cache.set("c", 3);
    expect(cache.has("b")).toBe(false);
    expect(cache.get("a")).toBe(1);
    expect(cache.get("missing")).toBeUndefined();
    expect(cache.evicted).toBe(1);
    // Without the option a read changes nothing: the oldest insertion goes.
    const map = new BoundedMap<string, number>(2);
    map.set("a", 1);
    map.set("b", 2);
    map.get("a");
    map.set("c", 3);
    expect(map.has("a")).toBe(false);
  });
});

describe("resolveClient", () => {
  it("uses a client it is given and does not own it", () => {
    const given = new Chorus(quiet);
    const { chorus, owned } = resolveClient(given, () => {
      throw new Error("must not create");
    });
    expect(chorus).toBe(given);
    expect(owned).toBe(false);
  });

  it("creates one from options and owns it; a creator that throws leaves a client that drops everything", () => {
    const made = resolveClient(quiet, (o) => new Chorus(o));
    expect(made.owned).toBe(true);
    expect(isChorusClient(made.chorus)).toBe(true);
    let calls = 0;
    const fallback = resolveClient({ url: "http://x" }, (o) => {
      calls += 1;
      if (calls === 1) throw new Error("bad options");
      return new Chorus(o);
    });
    expect(fallback.owned).toBe(true);
    expect(fallback.chorus.options.enabled).toBe(false);
  });

  it("tells a client from options by its emit, not by instanceof", () => {
    expect(isChorusClient({ emit() {} })).toBe(true);
    expect(isChorusClient({ url: "http://x" })).toBe(false);
    expect(isChorusClient(undefined)).toBe(false);
  });
});

describe("resolveAdapterLogger", () => {
  it("the adapter's logger, else the client options' logger, else stderr; false silences", () => {
    const own = recordingLogger();
    const clients = recordingLogger();
    expect(resolveAdapterLogger(own, { logger: clients })).toBe(own);
    expect(resolveAdapterLogger(undefined, { logger: clients })).toBe(clients);
    expect(resolveAdapterLogger(false, { logger: clients })).toBe(silentLogger);
    expect(resolveAdapterLogger(undefined, { logger: false })).toBe(silentLogger);
    expect(resolveAdapterLogger(undefined, undefined)).not.toBe(silentLogger);
  });
});

describe("createSafely", () => {
  it("returns undefined for a throw, reports every one to onError, and survives a throwing onError and logger", () => {
    const seen: string[] = [];
    const safely = createSafely({
      name: "@chorus/test",
      onError: (_e, ctx) => {
        seen.push(ctx.operation);
        throw new Error("onError broke");
      },
      logger: {
        ...silentLogger,
        warn() {
          throw new Error("logger broke");
        },
      },
    });
    expect(
      safely("op", () => {
        throw new Error("x");
      }),
    ).toBeUndefined();
    expect(safely("op", () => 42)).toBe(42);
    safely.report(new Error("y"), { operation: "op" });
    expect(seen).toEqual(["op", "op"]);
  });

  it("an async onError that rejects is swallowed too: no unhandled rejection", async () => {
    const unhandled: unknown[] = [];
    const listener = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", listener);
    try {
      const safely = createSafely({
        name: "@chorus/test",
        onError: async () => Promise.reject(new Error("async onError")),
      });
      safely("op", () => {
        throw new Error("x");
      });
      await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      process.off("unhandledRejection", listener);
    }
    expect(unhandled).toEqual([]);
  });

  it("warns once per operation, then logs at debug", () => {
    const logger = recordingLogger();
    const safely = createSafely({ name: "@chorus/test", logger });
    for (let i = 0; i < 3; i++)
      safely("llm.end", () => {
        throw new Error("boom");
      });
    safely("tool.end", () => {
      throw new Error("bang");
    });
    expect(logger.lines).toEqual([
      "warn @chorus/test: llm.end failed; the call goes on without it",
      "debug @chorus/test: llm.end failed: boom",
      "debug @chorus/test: llm.end failed: boom",
      "warn @chorus/test: tool.end failed; the call goes on without it",
    ]);
  });
});

describe("SpanRecorder", () => {
  it("names the span, framework, channel and agent on every event, and never throws", () => {
    const sent: EmitEvent[] = [];
    const errors: unknown[] = [];
    const safely = createSafely({ name: "@chorus/test", onError: (e) => errors.push(e) });
    const recorder = new SpanRecorder({
      sink: { emit: (e) => sent.push(e) },
      framework: "test-fw",
      channel: "ops",
      agent: "default-agent",
      safely,
    });
    const ids = new TraceIdPool();
    const root = spanUnder(ids, undefined);
    const child = spanUnder(ids, { ...root, intentId: "i-1", agent: "handler" });
    recorder.emit("llm.start", root, { model: "m" });
    recorder.emit("tool.start", child, { name: "t" }, { extra: 1 });
    expect(sent[0]).toMatchObject({
      type: "llm.start",
      traceId: root.traceId,
      spanId: root.spanId,
      channel: "ops",
      agent: "default-agent",
      metadata: { framework: "test-fw" },
    });
    expect(sent[1]).toMatchObject({
      traceId: root.traceId,
      parentSpanId: root.spanId,
      intentId: "i-1",
      agent: "handler",
      metadata: { framework: "test-fw", extra: 1 },
    });
    const broken = new SpanRecorder({
      sink: {
        emit() {
          throw new Error("sink exploded");
        },
      },
      framework: "test-fw",
      safely,
    });
    expect(() => broken.emit("llm.end", root, {})).not.toThrow();
    expect(errors).toHaveLength(1);
  });
});
