import type { ChorusEvent } from "@chorus/protocol";
import { ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { describe, expect, it } from "vitest";
import { decodeOtlpTraces } from "@chorus/hub";
import { spanFromEvents, type SpanSource } from "../src/span-from-events.js";

const source: SpanSource = {
  resource: {
    attributes: {},
    asyncAttributesPending: false,
    getRawAttributes: () => [],
    merge: () => source.resource,
    waitForAsyncAttributes: async () => {},
  } as unknown as SpanSource["resource"],
  scope: { name: "test" },
};

const END_AT = "2026-12-01T10:00:00.000Z";
const event = (over: Partial<ChorusEvent>): ChorusEvent =>
  ({
    id: "e",
    seq: 1,
    channel: "c",
    env: "default",
    type: "llm.end",
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    spanId: "00f067aa0ba902b7",
    payload: {},
    metadata: {},
    occurredAt: END_AT,
    receivedAt: END_AT,
    ...over,
  }) as ChorusEvent;

/** What a collector reads of the span: serialized by the SDK's own OTLP serializer, decoded strictly. */
function roundTrip(end: ChorusEvent) {
  const span = spanFromEvents(undefined, end, source);
  expect(span).toBeDefined();
  const bytes = ProtobufTraceSerializer.serializeRequest([span!]) as Uint8Array;
  return decodeOtlpTraces(bytes, "protobuf")[0];
}

describe("spanFromEvents with odd events", () => {
  it("an end alone whose latency reaches before 1970 starts at the epoch, not at a negative time", () => {
    for (const latencyMs of [1e15, 1e300, Number.MAX_VALUE]) {
      const end = event({ payload: { latencyMs } });
      expect(spanFromEvents(undefined, end, source)?.startTime).toEqual([0, 0]);
      // A collector reads it (OTLP's 0 is "unset": a strict reader takes the end time instead).
      expect(roundTrip(end)?.endTimeMs).toBe(Date.parse(END_AT));
    }
    const negative = roundTrip(event({ payload: { latencyMs: -500 } }));
    expect(negative?.startTimeMs).toBe(Date.parse(END_AT));
  });

  it("leaves out a span with an all-zero trace or span id, and reads a zero parent as none", () => {
    expect(spanFromEvents(undefined, event({ traceId: "0".repeat(32) }), source)).toBeUndefined();
    expect(spanFromEvents(undefined, event({ spanId: "0".repeat(16) }), source)).toBeUndefined();
    expect(roundTrip(event({ parentSpanId: "0".repeat(16) }))?.parentSpanId).toBeUndefined();
  });

  it("names come from strings only, and an error given as a bare string keeps its message", () => {
    const tool = roundTrip(event({ type: "tool.end", payload: { name: { a: 1 } } }));
    expect(tool?.name).toBe("execute_tool tool");
    const failed = roundTrip(
      event({ type: "agent.error", payload: { name: "planner", error: "quota exceeded" } }),
    );
    expect(failed?.name).toBe("invoke_agent planner");
    expect(failed?.status).toEqual({ code: 2, message: "quota exceeded" });
  });
});
