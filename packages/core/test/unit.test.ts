import { describe, expect, it } from "vitest";
import { backoffDelay, MAX_RETRY_AFTER_MS, parseRetryAfter } from "../src/backoff.js";
import { API_METHODS } from "../src/api-front.js";
import { CircuitBreaker } from "../src/circuit-breaker.js";
import { ConnectionError, NotFoundError, RateLimitError, ValidationError } from "../src/errors.js";
import { EventsApi } from "../src/events-api.js";
import { TraceIdPool } from "../src/ids.js";
import { IntentsApi } from "../src/intents-api.js";
import { DeliveryQueue, type QueuedEvent } from "../src/queue.js";
import { classify, shouldResend } from "../src/classify.js";
import { RingBuffer } from "../src/ring-buffer.js";

const ev = (id: string, bytes = 10): QueuedEvent => ({ id, json: `"${id}"`, bytes });

describe("DeliveryQueue", () => {
  it("drops the oldest when over the count bound and reports how many", () => {
    const q = new DeliveryQueue({ maxEvents: 3, maxBytes: 1e9 });
    expect([q.push(ev("a")), q.push(ev("b")), q.push(ev("c"))]).toEqual([0, 0, 0]);
    expect(q.push(ev("d"))).toBe(1);
    expect(q.take(10, 1e9).map((e) => e.id)).toEqual(["b", "c", "d"]);
    expect(q.bytes).toBe(0);
  });

  it("drops the oldest when over the byte bound", () => {
    const q = new DeliveryQueue({ maxEvents: 100, maxBytes: 25 });
    q.push(ev("a", 10));
    q.push(ev("b", 10));
    expect(q.push(ev("c", 10))).toBe(1);
    expect(q.bytes).toBe(20);
    expect(q.take(10, 1e9).map((e) => e.id)).toEqual(["b", "c"]);
  });

  it("takes batches bounded by count and bytes, at least one event", () => {
    const q = new DeliveryQueue({ maxEvents: 100, maxBytes: 1e9 });
    for (const id of ["a", "b", "c", "d"]) q.push(ev(id, 10));
    expect(q.take(3, 1e9).map((e) => e.id)).toEqual(["a", "b", "c"]);
    q.push(ev("big", 500));
    expect(q.take(10, 30).map((e) => e.id)).toEqual(["d"]);
    expect(q.take(10, 30).map((e) => e.id)).toEqual(["big"]);
  });

  it("requeues a failed batch at the front in its order, and the bound then drops the oldest", () => {
    const q = new DeliveryQueue({ maxEvents: 4, maxBytes: 1e9 });
    for (const id of ["a", "b", "c"]) q.push(ev(id));
    const batch = q.take(2, 1e9);
    q.push(ev("d"));
    q.push(ev("e"));
    expect(q.requeue(batch)).toBe(1); // a, b, c, d, e → a is dropped
    expect(q.take(10, 1e9).map((e) => e.id)).toEqual(["b", "c", "d", "e"]);
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
