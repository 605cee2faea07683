import { idSchema } from "@chorus/protocol";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../src/errors.js";
import { EventBuilder } from "../src/event-builder.js";
import { EventIdGenerator } from "../src/ids.js";
import { withTrace } from "../src/trace.js";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function builder() {
  return new EventBuilder(
    { channel: "c", env: undefined, app: undefined, agent: undefined },
    { mode: "full", maxStringLength: 4096 },
  );
}

describe("EventIdGenerator", () => {
  it("makes unique, strictly increasing UUIDv7 ids, even many within one millisecond", () => {
    const gen = new EventIdGenerator();
    const ids = Array.from({ length: 20_000 }, () => gen.next(1_700_000_000_000));
    expect(ids.every((id) => UUID_V7.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(gen.next(1_700_000_000_500) > (ids.at(-1) as string)).toBe(true);
  });
});

describe("EventBuilder", () => {
  it("still refuses bad fields after the same envelope was accepted (memo is per envelope)", () => {
    const b = builder();
    expect(b.build({ type: "custom" }).ok).toBe(true);
    expect(b.build({ type: "custom" }).ok).toBe(true); // memo hit
    const bad = [
      { type: "custom", traceId: "nope" },
      { type: "custom", spanId: "ABCDEF0123456789" },
      { type: "custom", unknown: 1 },
      { type: "custom", id: "has spaces" },
      { type: "custom", occurredAt: "yesterday" },
      { type: "custom", occurredAt: 1_700_000_000_000 },
      { type: "custom", occurredAt: new Date("not a date") },
      { type: "custom", id: 42 },
      { type: "custom", id: "x".repeat(200) },
      { type: "custom", channel: "a\u0007b" },
      { type: "custom", agent: 42 },
      { type: "custom", channel: "c", env: "" },
    ];
    for (const event of bad) {
      const result = b.build(event);
      expect(result.ok, JSON.stringify(event)).toBe(false);
      if (!result.ok) expect(result.error).toBeInstanceOf(ValidationError);
    }
  });

  it("refuses what the schema refuses once names, ids and a date were accepted (memo per field)", () => {
    const b = builder();
    const good = {
      type: "tool.start",
      agent: "a",
      traceId: "1".repeat(32),
      spanId: "2".repeat(16),
      parentSpanId: "3".repeat(16),
      occurredAt: "2026-01-02T03:04:05.006Z",
    };
    expect(b.build(good).ok).toBe(true);
    expect(b.build({ ...good, occurredAt: "2026-01-02T23:59:59.999Z" }).ok).toBe(true); // memo hit
    const bad = [
      { ...good, occurredAt: "2026-01-02T24:00:00.000Z" },
      { ...good, occurredAt: "2026-01-02T03:60:00Z" },
      { ...good, occurredAt: "2026-01-02T03:04:05.Z" },
      { ...good, occurredAt: "2026-01-02T03:04:05.006Zjunk" },
      { ...good, occurredAt: "2026-01-02" },
      { ...good, occurredAt: "2026-02-30T03:04:05.006Z" },
      { ...good, traceId: "2".repeat(16) }, // a span id accepted before is no trace id
      { ...good, spanId: "1".repeat(32) },
      { ...good, agent: "b\u0000" },
      { ...good, type: "tool start" },
    ];
    for (const event of bad) {
      const result = b.build(event);
      expect(result.ok, JSON.stringify(event)).toBe(false);
      if (!result.ok) expect(result.error).toBeInstanceOf(ValidationError);
    }
  });

  it("keeps an event's own id and time on the memoized path (adapters stamp a span's start)", () => {
    const b = builder();
    expect(b.build({ type: "custom" }).ok).toBe(true);
    const own = b.build({
      type: "custom",
      id: "run-1:start",
      occurredAt: new Date(Date.UTC(2026, 0, 2)),
    });
    expect(own.ok && own.value.event).toMatchObject({
      id: "run-1:start",
      occurredAt: "2026-01-02T00:00:00.000Z",
    });
    const offset = b.build({ type: "custom", occurredAt: "2026-01-02T03:04:05+02:00" });
    expect(offset.ok && offset.value.event.occurredAt).toBe("2026-01-02T03:04:05+02:00");
  });

  it("takes trace context from the current span, explicit fields winning", () => {
    const b = builder();
    withTrace(
      () => {
        const r = b.build({ type: "custom" });
        expect(r.ok && r.value.event).toMatchObject({ intentId: "i-1", agent: "a" });
        const own = b.build({ type: "custom", agent: "mine", traceId: "1".repeat(32) });
        expect(own.ok && own.value.event).toMatchObject({ agent: "mine", traceId: "1".repeat(32) });
        expect(own.ok && own.value.event.spanId).toBeUndefined(); // another trace: no span inherited
      },
      { intentId: "i-1", agent: "a" },
    );
  });

  it("accepts exactly the ids the protocol's idSchema accepts on the memoized path", () => {
    const b = builder();
    expect(b.build({ type: "custom" }).ok).toBe(true); // the envelope is known from here on
    const ids = ["a", "span:1.start", "A-b_c.d:e", "", " ", "a b", "é", "x".repeat(128)];
    ids.push("x".repeat(129), "a/b", "a\n", "0192f0e4-5e3c-7a8b-9c0d-1e2f3a4b5c6d");
    for (const id of ids) {
      expect(b.build({ type: "custom", id }).ok, id).toBe(idSchema.safeParse(id).success);
    }
  });

  it("counts bytes as UTF-8 and refuses an event over the protocol's limit", () => {
    const b = new EventBuilder(
      { channel: "c", env: undefined, app: undefined, agent: undefined },
      { mode: "full", maxStringLength: 1_000_000 },
    );
    const ok = b.build({ type: "custom", payload: { s: "é".repeat(10) } });
    expect(ok.ok && ok.value.bytes).toBe(Buffer.byteLength(ok.ok ? ok.value.json : ""));
    const big = b.build({ type: "custom", payload: { s: "x".repeat(300_000) } });
    expect(big.ok).toBe(false);
    if (!big.ok) expect(big.error.code).toBe("payload_too_large");
  });
});
