import { describe, expect, it } from "vitest";
import { backoffDelay, MAX_RETRY_AFTER_MS, parseRetryAfter, retryDelay } from "../src/backoff.js";
import { API_METHODS } from "../src/api-front.js";
import { CircuitBreaker } from "../src/circuit-breaker.js";
import { ConnectionError, NotFoundError, RateLimitError, ValidationError } from "../src/errors.js";
import { EventsApi } from "../src/events-api.js";
import { TraceIdPool } from "../src/ids.js";
import { IntentsApi } from "../src/intents-api.js";
import { EventBatchBody } from "../src/json-batch.js";
import { CHUNK_BYTES } from "../src/platform.js";
import { DeliveryQueue, type QueuedEvent } from "../src/queue.js";
import { classify, shouldResend } from "../src/classify.js";
import { RingBuffer } from "../src/ring-buffer.js";

/** Queue an event whose JSON is the string `id`, padded to `bytes` bytes. */
const push = (q: DeliveryQueue, id: string, bytes = 10): number =>
  q.push(id, JSON.stringify(id.padEnd(bytes - 2)), bytes);
/** What a queued event will send. */
const textOf = (e: QueuedEvent) => new TextDecoder().decode(e.chunk.subarray(e.at, e.at + e.bytes));

describe("DeliveryQueue", () => {
  it("drops the oldest when over the count bound and reports how many", () => {
    const q = new DeliveryQueue({ maxEvents: 3, maxBytes: 1e9 });
    expect([push(q, "a"), push(q, "b"), push(q, "c")]).toEqual([0, 0, 0]);
    expect(push(q, "d")).toBe(1);
    expect(q.take(10, 1e9).map((e) => e.id)).toEqual(["b", "c", "d"]);
    expect(q.bytes).toBe(0);
  });

  it("drops the oldest when over the byte bound", () => {
    const q = new DeliveryQueue({ maxEvents: 100, maxBytes: 25 });
    push(q, "a", 10);
    push(q, "b", 10);
    expect(push(q, "c", 10)).toBe(1);
    expect(q.bytes).toBe(20);
    expect(q.take(10, 1e9).map((e) => e.id)).toEqual(["b", "c"]);
  });

  it("takes batches bounded by count and bytes, at least one event", () => {
    const q = new DeliveryQueue({ maxEvents: 100, maxBytes: 1e9 });
    for (const id of ["a", "b", "c", "d"]) push(q, id, 10);
    expect(q.take(3, 1e9).map((e) => e.id)).toEqual(["a", "b", "c"]);
    push(q, "big", 500);
    expect(q.take(10, 30).map((e) => e.id)).toEqual(["d"]);
    expect(q.take(10, 30).map((e) => e.id)).toEqual(["big"]);
  });

  it("requeues a failed batch at the front in its order, and the bound then drops the oldest", () => {
    const q = new DeliveryQueue({ maxEvents: 4, maxBytes: 1e9 });
    for (const id of ["a", "b", "c"]) push(q, id);
    const batch = q.take(2, 1e9);
    push(q, "d");
    push(q, "e");
    expect(q.requeue(batch)).toBe(1); // a, b, c, d, e → a is dropped
    expect(q.take(10, 1e9).map((e) => e.id)).toEqual(["b", "c", "d", "e"]);
  });

  it("keeps each event's UTF-8 as serialized: multi-byte text, across chunks, longer than a chunk", () => {
    // Several chunks of small events, events of a few KiB (each in its own buffer) between them.
    const q = new DeliveryQueue({ maxEvents: 1e6, maxBytes: 1e9 });
    const jsons = [
      ...Array.from({ length: 500 }, (_, i) =>
        JSON.stringify({ i, text: "héllo ✓ 日本語 🦜".repeat(i % 50 === 0 ? 300 : i % 7) }),
      ),
      JSON.stringify({ big: "ü".repeat(CHUNK_BYTES) }), // 64 KiB of UTF-8: a buffer of its own
      JSON.stringify({ after: "the big one" }),
    ];
    for (const [i, json] of jsons.entries()) q.push(String(i), json, Buffer.byteLength(json));
    const batch = q.take(1e6, 1e9);
    expect(batch.map(textOf)).toEqual(jsons);
    expect(JSON.parse(new EventBatchBody(batch).text())).toEqual({
      events: jsons.map((j) => JSON.parse(j)),
    });
  });

  it("never overwrites a batch in flight or put back: what is queued after it goes elsewhere", () => {
    const q = new DeliveryQueue({ maxEvents: 1e6, maxBytes: 1e9 });
    for (let i = 0; i < 100; i++) push(q, `first-${i}`, 100);
    const inFlight = q.take(1e6, 1e9);
    const before = new EventBatchBody(inFlight).bytes();
    for (let i = 0; i < 5000; i++) push(q, `later-${i}`, 100); // many chunks' worth
    expect(new EventBatchBody(inFlight).bytes()).toEqual(before);
    q.requeue(inFlight);
    for (let i = 0; i < 5000; i++) push(q, `last-${i}`, 100);
    const all = q.take(1e6, 1e9);
    expect(all.map((e) => JSON.parse(textOf(e)).trim())).toEqual([
      ...Array.from({ length: 100 }, (_, i) => `first-${i}`),
      ...Array.from({ length: 5000 }, (_, i) => `later-${i}`),
      ...Array.from({ length: 5000 }, (_, i) => `last-${i}`),
    ]);
  });
});

describe("TraceIdPool", () => {
  it("hands out W3C ids, unique across pool refills", () => {
    const pool = new TraceIdPool();
    const spans = Array.from({ length: 2000 }, () => pool.spanId()); // several 4 KiB refills
    const traces = Array.from({ length: 300 }, () => pool.traceId());
    for (const id of spans) expect(id).toMatch(/^(?!0+$)[0-9a-f]{16}$/);
    for (const id of traces) expect(id).toMatch(/^(?!0+$)[0-9a-f]{32}$/);
    expect(new Set(spans).size).toBe(spans.length);
    expect(new Set(traces).size).toBe(traces.length);
  });
});

describe("RingBuffer", () => {
  it("grows and keeps order across push, unshift and shift", () => {
    const r = new RingBuffer<number>();
    for (let i = 0; i < 40; i++) r.push(i);
    for (let i = 0; i < 30; i++) r.shift();
    for (let i = 40; i < 70; i++) r.push(i);
    r.unshift(29);
    expect([...r]).toEqual(Array.from({ length: 41 }, (_, k) => 29 + k));
  });
});

describe("backoff", () => {
  it("grows exponentially with jitter in the upper half, capped", () => {
    const policy = { baseMs: 100, maxMs: 1000 };
    expect(backoffDelay(0, policy, () => 0)).toBe(50);
    expect(backoffDelay(0, policy, () => 1)).toBe(100);
    expect(backoffDelay(3, policy, () => 0)).toBe(400);
    expect(backoffDelay(10, policy, () => 1)).toBe(1000);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(2, policy);
      expect(d).toBeGreaterThanOrEqual(200);
      expect(d).toBeLessThanOrEqual(400);
    }
  });

  it("parses Retry-After as seconds or an HTTP date, capped, ignoring garbage", () => {
    expect(parseRetryAfter("2")).toBe(2000);
    expect(parseRetryAfter("0.5")).toBe(500);
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:03 GMT", now)).toBe(3000);
    expect(parseRetryAfter("99999")).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter("soon")).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });

  it("waits at least the backoff whatever Retry-After says, and longer when it asks", () => {
    const policy = { baseMs: 200, maxMs: 10_000 };
    const past = parseRetryAfter(
      "Thu, 01 Jan 2026 00:00:00 GMT",
      Date.parse("2026-06-01T00:00:00Z"),
    );
    expect(past).toBe(0);
    for (const retryAfter of [0, past, 10, undefined]) {
      // Retry-After 0, or a date already past, used to mean "at once": a reconnect storm.
      expect(retryDelay(0, policy, retryAfter)).toBeGreaterThanOrEqual(100);
      expect(retryDelay(3, policy, retryAfter)).toBeGreaterThanOrEqual(800);
    }
    expect(retryDelay(0, policy, 5_000)).toBe(5_000);
  });

  it("retries only availability failures, and non-idempotent calls only when surely not sent", () => {
    const timeout = new ConnectionError("t", { reason: "timeout" });
    const refused = new ConnectionError("r", { reason: "refused" });
    const s500 = new ConnectionError("500", { reason: "unavailable", status: 500 });
    const s503 = new ConnectionError("503", { reason: "unavailable", status: 503 });
    expect(shouldResend(timeout, true)).toBe(true);
    expect(shouldResend(timeout, false)).toBe(false);
    expect(shouldResend(refused, false)).toBe(true);
    expect(shouldResend(s500, false)).toBe(false);
    expect(shouldResend(s503, false)).toBe(true);
    expect(shouldResend(new RateLimitError("429"), false)).toBe(true);
    expect(shouldResend(new Error("bug"), true)).toBe(false);
  });

  it("classifies caller errors, outages and rate limits, by code so another copy's errors count too", () => {
    expect(classify(new ValidationError("bad"))).toMatchObject({
      kind: "caller",
      retryable: false,
    });
    expect(classify(new NotFoundError("gone")).kind).toBe("caller");
    const outage = classify(new ConnectionError("r", { reason: "refused" }));
    expect(outage).toMatchObject({ kind: "availability", retryable: true, outage: true });
    const limited = classify(new RateLimitError("slow down", { retryAfterMs: 1500 }));
    expect(limited).toMatchObject({ retryable: true, outage: false, retryAfterMs: 1500 });
    const open = classify(new ConnectionError("o", { reason: "circuit_open" }));
    expect(open).toMatchObject({ kind: "availability", retryable: true, outage: false });
    // A plain object shaped like another copy's ConnectionError.
    const foreign = { name: "ConnectionError", code: "unavailable", reason: "timeout" };
    expect(classify(foreign)).toMatchObject({ kind: "availability", retryable: true });
    expect(classify({ code: "conflict" }).kind).toBe("caller");
    expect(classify(new Error("bug"))).toMatchObject({ kind: "availability", retryable: false });
  });
});

describe("CircuitBreaker", () => {
  function breaker() {
    let now = 0;
    const b = new CircuitBreaker({
      failureThreshold: 3,
      cooldownMs: 100,
      maxCooldownMs: 400,
      now: () => now,
      random: () => 0.5,
    });
    return { b, advance: (ms: number) => (now += ms) };
  }

  it("opens after consecutive failures, then lets exactly one probe through", () => {
    const { b, advance } = breaker();
    b.onFailure();
    b.onFailure();
    expect(b.state).toBe("closed");
    b.onFailure();
    expect(b.state).toBe("open");
    expect(b.tryAcquire()).toBe(false);
    advance(100);
    expect(b.state).toBe("half_open");
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(false); // one probe at a time
    b.onSuccess();
    expect(b.state).toBe("closed");
    expect(b.tryAcquire()).toBe(true);
  });

  it("a failed probe reopens for a longer cooldown, capped", () => {
    const { b, advance } = breaker();
    for (let i = 0; i < 3; i++) b.onFailure();
    const cooldowns: number[] = [];
    for (let i = 0; i < 4; i++) {
      cooldowns.push(b.msUntilProbe);
      advance(b.msUntilProbe);
      expect(b.tryAcquire()).toBe(true);
      b.onFailure();
    }
    expect(cooldowns).toEqual([100, 200, 400, 400]);
  });

  it("a success resets the failure count", () => {
    const { b } = breaker();
    b.onFailure();
    b.onFailure();
    b.onSuccess();
    b.onFailure();
    b.onFailure();
    expect(b.state).toBe("closed");
  });
});

describe("the browser entry's front of events and intents", () => {
  it("forwards every public method of EventsApi and IntentsApi", () => {
    const methods = (api: { prototype: object }) =>
      Object.getOwnPropertyNames(api.prototype)
        .filter((name) => name !== "constructor")
        .sort();
    expect([...API_METHODS.events].sort()).toEqual(methods(EventsApi));
    expect([...API_METHODS.intents].sort()).toEqual(methods(IntentsApi));
  });
});
