import { mapSpan, type MappedEvent, type OtelSpan } from "@chorus/protocol";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { createServer } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportToOtlp, type OtlpExport } from "../src/index.js";
import { loadFixture } from "./helpers/fixtures.js";
import { startTestHub, type TestHub, until } from "./helpers/hub.js";
import { startOtlpReceiver } from "./helpers/otlp-receiver.js";

/*
 * Chorus events out as OTLP: the real hub's SSE stream, the real OTLP/protobuf exporter, and a
 * local collector decoding with the official opentelemetry-proto definitions. Round trip: the
 * fixtures' spans, mapped to events and stored in the hub, come back out of the collector as
 * spans that the same mapping reads into the same fields.
 */

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub();
});
afterAll(async () => {
  await t.close();
});

let channels = 0;
const freshChannel = () => `otlp-out-${process.pid}-${++channels}`;

/** Deliver what the client queued and wait until the export has read `events` in all. */
async function delivered(otlp: OtlpExport, events: number): Promise<void> {
  await t.chorus.flush(5_000);
  await until(() => otlp.stats().events === events, 20_000);
}

/** Five `tool.start` events of spans `spanId(0…4)`, never ended: open spans for the bounds tests. */
function emitStarts(
  channel: string,
  traceId: string,
  spanId: (i: number) => string,
  args: (i: number) => unknown,
  occurredAt?: (i: number) => string,
): void {
  for (let i = 0; i < 5; i++)
    t.chorus.emit({
      channel,
      type: "tool.start",
      traceId,
      spanId: spanId(i),
      payload: { name: "search", callId: `call_${i}`, arguments: args(i) },
      ...(occurredAt && { occurredAt: occurredAt(i) }),
    });
}

/** The fields a GenAI backend shows, per event kind. */
function essentials(event: Pick<MappedEvent, "type" | "payload">): Record<string, unknown> {
  const p = event.payload as Record<string, unknown>;
  const usage = p.usage as Record<string, unknown> | undefined;
  const pick = (...keys: string[]) =>
    Object.fromEntries(keys.filter((k) => p[k] !== undefined).map((k) => [k, p[k]]));
  if (event.type.startsWith("llm."))
    return {
      ...pick("model", "provider", "messages", "tools", "finishReason", "toolCalls", "error"),
      ...(usage && {
        usage: {
          input: usage.inputTokens,
          output: usage.outputTokens,
          cached: usage.cacheReadTokens,
        },
      }),
    };
  if (event.type.startsWith("tool.")) return pick("name", "callId", "arguments", "result", "error");
  return pick("name", "error");
}

describe("exportToOtlp", () => {
  it("turns the stored events of recorded GenAI spans back into the same spans at a real OTLP/protobuf collector", async () => {
    const channel = freshChannel();
    const collector = await startOtlpReceiver();
    const source = [
      ...loadFixture("ai-sdk-6"),
      ...loadFixture("gen-ai-semconv"),
      ...loadFixture("openinference-langchain"),
    ];
    const events = source.flatMap((span) => mapSpan(span));
    const spanCount = events.length / 2;
    expect(spanCount).toBeGreaterThan(15);
    const otlp = exportToOtlp({
      chorus: t.chorus,
      channel,
      exporter: new OTLPTraceExporter({ url: collector.url }),
      after: 0,
      scheduledDelayMillis: 20,
      logger: false,
    });
    try {
      for (const e of events) t.chorus.emit({ ...e, channel });
      await t.chorus.flush(5_000);
      await until(() => otlp.stats().events === events.length, 20_000);
      await otlp.flush();
      await until(() => collector.spans.length === spanCount, 20_000);
      expect(otlp.stats()).toMatchObject({ spans: spanCount, exported: spanCount, failed: 0 });
      expect(otlp.stats()).toMatchObject({ spans: spanCount, pending: 0, droppedPending: 0 });

      const back = new Map<string, OtelSpan>(collector.spans.map((s) => [s.spanId, s]));
      for (let i = 0; i < events.length; i += 2) {
        const [start, end] = [events[i] as MappedEvent, events[i + 1] as MappedEvent];
        const span = back.get(start.spanId);
        expect(span, start.spanId).toBeDefined();
        expect(span?.traceId).toBe(start.traceId);
        expect(span?.parentSpanId).toBe(start.parentSpanId);
        expect(span?.resource?.["service.name"]).toBe("chorus");
        expect(span?.scope).toBe("@chorus/otel");
        expect(Math.abs((span?.startTimeMs ?? 0) - Date.parse(start.occurredAt))).toBeLessThan(1);
        expect(Math.abs((span?.endTimeMs ?? 0) - Date.parse(end.occurredAt))).toBeLessThan(1);
        const [start2, end2] = mapSpan(span as OtelSpan);
        expect(start2?.type).toBe(start.type);
        expect(end2?.type).toBe(end.type);
        expect(essentials(start2 as MappedEvent)).toEqual(essentials(start));
        expect(essentials(end2 as MappedEvent)).toEqual(essentials(end));
      }
      // The failed tool call of the gen_ai fixture is an error span with its exception.
      const failed = collector.spans.find((s) => s.attributes["error.type"] === "NotFound");
      expect(failed?.status?.code).toBe(2);
      expect(failed?.events?.some((e) => e.name === "exception")).toBe(true);
      expect(failed?.attributes["gen_ai.operation.name"]).toBe("execute_tool");
    } finally {
      await otlp.close();
      await collector.close();
    }
  }, 60_000);

  it("keeps at most maxPendingSpans open spans, dropping the oldest; an end without its start is still a span", async () => {
    const channel = freshChannel();
    const exporter = new InMemorySpanExporter();
    const otlp = exportToOtlp({
      chorus: t.chorus,
      channel,
      exporter,
      after: 0,
      maxPendingSpans: 2,
      scheduledDelayMillis: 20,
      logger: false,
    });
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const spanId = (i: number) => `00f067aa0ba902b${i}`;
    const t0 = Date.parse("2026-12-01T10:00:00.000Z");
    try {
      emitStarts(
        channel,
        traceId,
        spanId,
        (i) => ({ q: i }),
        (i) => new Date(t0 + i).toISOString(),
      );
      await delivered(otlp, 5);
      expect(otlp.stats()).toMatchObject({ pending: 2, droppedPending: 3 });
      for (let i = 0; i < 5; i++)
        t.chorus.emit({
          channel,
          type: "tool.end",
          traceId,
          spanId: spanId(i),
          payload: { name: "search", callId: `call_${i}`, result: "ok", latencyMs: 40 },
          occurredAt: new Date(t0 + 100).toISOString(),
        });
      await delivered(otlp, 10);
      await otlp.flush();
      const spans = exporter.getFinishedSpans();
      expect(spans).toHaveLength(5);
      expect(otlp.stats()).toMatchObject({ pending: 0, spans: 5 });
      const startMs = (i: number) => {
        const s = spans.find((x) => x.spanContext().spanId === spanId(i));
        return (s?.startTime[0] ?? 0) * 1000 + (s?.startTime[1] ?? 0) / 1e6;
      };
      // The two newest kept their start event; the three dropped start latencyMs before their end.
      expect(startMs(4)).toBe(t0 + 4);
      expect(startMs(3)).toBe(t0 + 3);
      for (const i of [0, 1, 2]) expect(startMs(i)).toBe(t0 + 60);
      const arguments3 = spans.find((x) => x.spanContext().spanId === spanId(3))?.attributes;
      expect(arguments3?.["gen_ai.tool.call.arguments"]).toBe('{"q":3}');
    } finally {
      await otlp.close();
    }
  }, 60_000);

  it("keeps at most maxPendingBytes of open spans' events, dropping the oldest spans", async () => {
    const channel = freshChannel();
    const otlp = exportToOtlp({
      chorus: t.chorus,
      channel,
      exporter: new InMemorySpanExporter(),
      after: 0,
      maxPendingBytes: 10_000,
      logger: false,
    });
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4737";
    const spanId = (i: number) => `00f067aa0ba902c${i}`;
    const big = "x".repeat(4_000); // each start is some 4.3 KB of JSON: two fit, three do not
    try {
      emitStarts(channel, traceId, spanId, () => ({ q: big }));
      await delivered(otlp, 5);
      expect(otlp.stats()).toMatchObject({ pending: 2, droppedPending: 3 });
      // An event inside an open span counts too: one more 4 KB message drops the older span.
      t.chorus.emit({
        channel,
        type: "agent.message",
        traceId,
        spanId: spanId(4),
        payload: { role: "assistant", text: big },
      });
      await delivered(otlp, 6);
      expect(otlp.stats()).toMatchObject({ pending: 1, droppedPending: 4 });
    } finally {
      await otlp.close();
    }
  }, 60_000);

  it("leaves out spans whose ids a collector refuses (all zeros), so the rest of their batch still arrives", async () => {
    const channel = freshChannel();
    const collector = await startOtlpReceiver();
    const otlp = exportToOtlp({
      chorus: t.chorus,
      channel,
      exporter: new OTLPTraceExporter({ url: collector.url }),
      after: 0,
      scheduledDelayMillis: 20,
      logger: false,
    });
    const trace = "7bf92f3577b34da6a3ce929d0e0e4736";
    const zeros = "0".repeat(32);
    const events = [
      { type: "agent.end", traceId: zeros, spanId: "7000000000000001" },
      { type: "agent.end", traceId: trace, spanId: "0".repeat(16) },
      { type: "llm.end", traceId: trace, spanId: "7000000000000002", parentSpanId: "0".repeat(16) },
      { type: "tool.end", traceId: trace, spanId: "7000000000000003", payload: { name: "search" } },
    ];
    try {
      for (const e of events) t.chorus.emit({ channel, payload: {}, ...e });
      await t.chorus.flush(5_000);
      await until(() => otlp.stats().events === events.length, 20_000);
      await until(async () => {
        await otlp.flush();
        return collector.spans.length >= 2;
      }, 20_000);
      // The receiver decodes strictly (the hub's decoder): one all-zero id used to fail the batch.
      expect(collector.spans.map((s) => [s.spanId, s.parentSpanId]).sort()).toEqual([
        ["7000000000000002", undefined],
        ["7000000000000003", undefined],
      ]);
    } finally {
      await otlp.close();
      await collector.close();
    }
  }, 60_000);

  it("fails open when the collector is down: nothing thrown, close() returns, the stream keeps being read", async () => {
    const channel = freshChannel();
    const collector = await startOtlpReceiver();
    await collector.close(); // nothing listens there any more
    const errors: unknown[] = [];
    const unhandled = (e: unknown) => errors.push(e);
    process.on("unhandledRejection", unhandled);
    const otlp = exportToOtlp({
      chorus: t.chorus,
      channel,
      exporter: new OTLPTraceExporter({ url: collector.url, timeoutMillis: 500 }),
      after: 0,
      maxQueueSize: 16,
      scheduledDelayMillis: 20,
      logger: false,
    });
    try {
      const events: Parameters<typeof t.chorus.emit>[0][] = [];
      for (let i = 0; i < 100; i++)
        for (const [type, phase] of [
          ["llm.start", "start"],
          ["llm.end", "end"],
        ] as const)
          events.push({
            id: `down-${i}-${phase}`,
            channel,
            type,
            traceId: "5bf92f3577b34da6a3ce929d0e0e4736",
            spanId: `10f067aa0ba9${String(1000 + i)}`,
            payload: { model: "m", usage: { inputTokens: 1, outputTokens: 1 } },
            occurredAt: new Date().toISOString(),
          });
      for (const e of events) t.chorus.emit(e);
      await delivered(otlp, 200);
      expect(otlp.stats().spans).toBe(100);
      await otlp.flush(2_000);
    } finally {
      await otlp.close(2_000);
      process.off("unhandledRejection", unhandled);
    }
    expect(errors).toEqual([]);
  }, 60_000);

  it("reports each failed export to onError and counts its spans: a collector refusing the key is not silent", async () => {
    const channel = freshChannel();
    let requests = 0;
    const refusing = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        requests++;
        res.writeHead(401, { "content-type": "application/json" });
        res.end('{"code":16,"message":"invalid api key"}');
      });
    });
    await new Promise<void>((resolve) => refusing.listen(0, "127.0.0.1", resolve));
    const { port } = refusing.address() as { port: number };
    const errors: { error: unknown; context: Record<string, unknown> }[] = [];
    const otlp = exportToOtlp({
      chorus: t.chorus,
      channel,
      exporter: new OTLPTraceExporter({ url: `http://127.0.0.1:${port}/v1/traces` }),
      after: 0,
      scheduledDelayMillis: 20,
      logger: false,
      onError: (error, context) => errors.push({ error, context }),
    });
    try {
      const trace = "6bf92f3577b34da6a3ce929d0e0e4736";
      for (let i = 1; i <= 3; i++) {
        const spanId = `600000000000000${i}`;
        t.chorus.emit({
          channel,
          type: "tool.start",
          traceId: trace,
          spanId,
          payload: { name: "t" },
        });
        t.chorus.emit({
          channel,
          type: "tool.end",
          traceId: trace,
          spanId,
          payload: { name: "t" },
        });
      }
      await delivered(otlp, 6);
      // The batch processor's own timer exports (no flush() here): its failures used to reach only
      // OpenTelemetry's global error handler, which logs nothing by default.
      await until(() => otlp.stats().failed === 3, 20_000);
      expect(otlp.stats()).toMatchObject({ spans: 3, exported: 0, failed: 3 });
      expect(requests).toBeGreaterThan(0);
      expect(errors.length).toBeGreaterThan(0);
      for (const { error, context } of errors) {
        expect(context.operation).toBe("export");
        expect(String((error as Error).message)).toMatch(/401|Unauthorized/i);
      }
      expect(errors.reduce((n, e) => n + (e.context.spans as number), 0)).toBe(3);
      // A flush that fails again is reported once, by the export, not a second time by flush().
      const before = errors.length;
      t.chorus.emit({ channel, type: "tool.end", traceId: trace, spanId: "6000000000000009" });
      await delivered(otlp, 7);
      await otlp.flush(5_000);
      await until(() => otlp.stats().failed === 4, 20_000);
      expect(errors.length).toBe(before + 1);
    } finally {
      await otlp.close(2_000);
      await new Promise<void>((resolve) => refusing.close(() => resolve()));
    }
  }, 60_000);
});
