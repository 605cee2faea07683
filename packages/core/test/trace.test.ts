import { describe, expect, it } from "vitest";
import {
  currentTrace,
  formatTraceparent,
  parseTraceparent,
  registerTraceSource,
  runInTrace,
  spanFrom,
  withTrace,
} from "../src/trace.js";

describe("trace context", () => {
  it("starts a trace, nests child spans, and survives await", async () => {
    expect(currentTrace()).toBeUndefined();
    await withTrace(async () => {
      const root = currentTrace();
      expect(root?.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(root?.spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(root?.parentSpanId).toBeUndefined();
      await new Promise((r) => setTimeout(r, 1));
      expect(currentTrace()).toBe(root);
      await withTrace(async () => {
        const child = currentTrace();
        expect(child?.traceId).toBe(root?.traceId);
        expect(child?.parentSpanId).toBe(root?.spanId);
        expect(child?.spanId).not.toBe(root?.spanId);
      });
      expect(currentTrace()).toBe(root);
    });
    expect(currentTrace()).toBeUndefined();
  });

  it("keeps concurrent flows apart", async () => {
    const seen = await Promise.all(
      [1, 2, 3].map((n) =>
        withTrace(async () => {
          await new Promise((r) => setTimeout(r, 5 - n));
          return currentTrace()?.traceId;
        }),
      ),
    );
    expect(new Set(seen).size).toBe(3);
  });

  it("joins a given traceId, starts a new trace on request, and carries intent and agent", () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    withTrace(
      () => {
        expect(currentTrace()).toMatchObject({ traceId, intentId: "i-1", agent: "researcher" });
        withTrace(() =>
          expect(currentTrace()).toMatchObject({ traceId, intentId: "i-1", agent: "researcher" }),
        );
        withTrace(() => expect(currentTrace()?.traceId).not.toBe(traceId), { newTrace: true });
      },
      { traceId, intentId: "i-1", agent: "researcher" },
    );
  });

  it("parses and formats W3C traceparent", () => {
    const header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    expect(parseTraceparent(header)).toEqual({
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      parentSpanId: "00f067aa0ba902b7",
      sampled: true,
    });
    for (const bad of [
      "",
      "garbage",
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
    ]) {
      expect(parseTraceparent(bad)).toBeUndefined();
    }
    withTrace(
      () => {
        const ctx = currentTrace();
        expect(ctx?.parentSpanId).toBe("00f067aa0ba902b7");
        expect(formatTraceparent()).toBe(`00-4bf92f3577b34da6a3ce929d0e0e4736-${ctx?.spanId}-01`);
      },
      { traceparent: header },
    );
    expect(formatTraceparent(undefined)).toBeUndefined();
  });

  it("computes spans without entering them (for callback-style adapters)", () => {
    const run = spanFrom(undefined);
    const llm = spanFrom(run);
    expect(llm.parentSpanId).toBe(run.spanId);
    expect(currentTrace()).toBeUndefined();
    runInTrace(llm, () => expect(currentTrace()).toBe(llm));
  });
});

describe("registerTraceSource (how @chorus/otel links an active OTel span)", () => {
  const otelSpan = { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7" };

  it("is asked only when no Chorus trace is current, and its throws and bad ids are ignored", () => {
    const unregisterBroken = registerTraceSource(() => {
      throw new Error("someone else's bug");
    });
    const unregisterBad = registerTraceSource(() => ({ traceId: "nope", spanId: "x" }));
    const unregister = registerTraceSource(() => otelSpan);
    try {
      expect(currentTrace()).toEqual(otelSpan);
      withTrace(() => expect(currentTrace()?.parentSpanId).toBe(otelSpan.spanId));
      withTrace(() => expect(currentTrace()?.traceId).not.toBe(otelSpan.traceId), {
        newTrace: true,
      });
    } finally {
      unregister();
      unregisterBad();
      unregisterBroken();
    }
    expect(currentTrace()).toBeUndefined();
  });
});
