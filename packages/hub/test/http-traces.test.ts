import { gzipSync } from "node:zlib";
import { type ChorusEvent, mapSpan, type OtelSpan } from "@chorus/protocol";
import { type ExportResult, ExportResultCode } from "@opentelemetry/core";
import { OTLPTraceExporter as JsonExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtoExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import {
  BatchSpanProcessor,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
} from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeOtlpTraceResponse, decodeOtlpTraces, type Hub } from "../src/index.js";
import { DEFAULT_TRACE_CHANNEL } from "../src/http/routes/traces.js";
import { decodeOtlpStatus } from "../src/otlp/response.js";
import { otlpTypes } from "../src/otlp/schema.js";
import { api, KEY_A, KEY_A_READONLY, KEY_B, startTestHub } from "./helpers.js";
import {
  asOtelSpan,
  FIXTURES,
  loadRecorded,
  type RecordedSpan,
  recordedReadableSpans,
  Replayer,
  retrace,
} from "./otlp-fixtures.js";

type Compression = "gzip" | "none";

/** The real OTLP exporters, pointed at the hub; every export's result is kept. */
class Recording implements SpanExporter {
  readonly results: ExportResult[] = [];
  readonly #inner: SpanExporter;

  constructor(inner: SpanExporter) {
    this.#inner = inner;
  }
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.#inner.export(spans, (result) => {
      this.results.push(result);
      done(result);
    });
  }
  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }
  forceFlush(): Promise<void> {
    return this.#inner.forceFlush?.() ?? Promise.resolve();
  }
}

function exporter(hub: Hub, kind: "proto" | "json", compression: Compression, key = KEY_A) {
  const config = {
    url: `${hub.url}/v1/traces`,
    headers: { authorization: `Bearer ${key}` },
    compression: compression as never,
  };
  return new Recording(kind === "proto" ? new ProtoExporter(config) : new JsonExporter(config));
}

function exportOnce(target: SpanExporter, spans: ReadableSpan[]): Promise<ExportResult> {
  return new Promise((resolve) => target.export(spans, resolve));
}

async function eventsOfTrace(hub: Hub, traceId: string, key = KEY_A): Promise<ChorusEvent[]> {
  const res = await api(hub, `/v1/events?traceId=${traceId}&limit=1000`, { key });
  expect(res.status).toBe(200);
  return res.body.data;
}

/** What the in-process path emits for these spans, as the hub would store it. */
function expectedEvents(spans: OtelSpan[], channel: string) {
  return spans
    .flatMap((s) => mapSpan(s))
    .map((e) => ({ ...e, channel }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

function stored(events: ChorusEvent[]) {
  return events
    .map(({ seq: _s, receivedAt: _r, env: _e, ...rest }) => rest)
    .sort((a, b) => a.id.localeCompare(b.id));
}

const traceIds = (spans: readonly RecordedSpan[]) => [...new Set(spans.map((s) => s.traceId))];

// A bound for a loaded machine (several hubs, real exporters, Postgres), not a speed check.
describe("POST /v1/traces", { timeout: 60_000 }, () => {
  let hub: Hub;
  beforeAll(async () => {
    hub = await startTestHub();
  });
  afterAll(async () => {
    await hub.close();
  });

  const cases = [
    ["proto", "gzip", "batch"],
    ["proto", "none", "simple"],
    ["json", "gzip", "simple"],
    ["json", "none", "batch"],
  ] as const;

  // Every fixture through every exporter configuration, each copy in a trace of its own.
  let tag = 0;
  for (const fixture of FIXTURES) {
    for (const [kind, compression, processor] of cases) {
      const copy = ++tag;
      it(`${fixture}: the ${kind} exporter (${compression}, ${processor} processor) stores the GenAI spans as the in-process mapping does`, async () => {
        const channel = `otlp-${fixture}-${kind}-${compression}`;
        const recorded = retrace(loadRecorded(fixture), copy);
        const target = exporter(hub, kind, compression);
        const resource = { "service.name": "weather", "chorus.channel": channel };
        const replayer = new Replayer(
          [
            processor === "batch"
              ? new BatchSpanProcessor(target)
              : new SimpleSpanProcessor(target),
          ],
          resource,
        );
        replayer.replay(recorded);
        await replayer.provider.forceFlush();
        expect(target.results.length).toBeGreaterThan(0);
        for (const result of target.results) {
          expect(result.error?.message).toBeUndefined();
          expect(result.code).toBe(ExportResultCode.SUCCESS);
        }
        const got = (
          await Promise.all(traceIds(recorded).map((t) => eventsOfTrace(hub, t)))
        ).flat();
        const want = expectedEvents(
          recorded.map((s) => asOtelSpan(s, resource)),
          channel,
        );
        expect(want.length).toBeGreaterThan(0);
        expect(stored(got)).toEqual(want);
        await replayer.provider.shutdown();
      });
    }
  }

  it("stores a span sent twice once, and answers the second export with success", async () => {
    const recorded = retrace(loadRecorded("gen-ai-semconv"), 0x300);
    const spans = recordedReadableSpans(recorded, { "chorus.channel": "twice" });
    const target = exporter(hub, "proto", "gzip", KEY_B);
    expect((await exportOnce(target, spans)).code).toBe(ExportResultCode.SUCCESS);
    const first = await eventsOfTrace(hub, recorded[0]!.traceId, KEY_B);
    expect((await exportOnce(exporter(hub, "json", "none", KEY_B), spans)).code).toBe(
      ExportResultCode.SUCCESS,
    );
    const second = await eventsOfTrace(hub, recorded[0]!.traceId, KEY_B);
    expect(second).toEqual(first);
    expect(first.length).toBe(
      expectedEvents(
        recorded.map((s) => asOtelSpan(s)),
        "x",
      ).length,
    );
  });

  it("answers an ExportTraceServiceResponse in the request's content type", async () => {
    const spans = recordedReadableSpans(loadRecorded("ai-sdk-6"));
    const { ProtobufTraceSerializer, JsonTraceSerializer } = await import(
      "@opentelemetry/otlp-transformer"
    );
    const proto = await post(
      hub,
      ProtobufTraceSerializer.serializeRequest(spans)!,
      "application/x-protobuf",
    );
    expect(proto.status).toBe(200);
    expect(proto.headers.get("content-type")).toBe("application/x-protobuf");
    expect(decodeOtlpTraceResponse(proto.bytes, "protobuf")).toEqual({});
    const json = await post(hub, JsonTraceSerializer.serializeRequest(spans)!, "application/json");
    expect(json.status).toBe(200);
    expect(json.headers.get("content-type")).toMatch(/^application\/json/);
    expect(decodeOtlpTraceResponse(json.bytes, "json")).toEqual({});
    // Empty requests are a success too (OTLP: "the server SHOULD respond with success").
    expect((await post(hub, new Uint8Array(), "application/x-protobuf")).status).toBe(200);
    expect((await post(hub, "{}", "application/json")).status).toBe(200);
  });

  it("takes the channel from the resource, else the Chorus-Channel header, else the default", async () => {
    const { JsonTraceSerializer } = await import("@opentelemetry/otlp-transformer");
    const cases = [
      [{ "chorus.channel": "from-resource" }, "from-header", "from-resource"],
      [{}, "from-header", "from-header"],
      [{}, undefined, DEFAULT_TRACE_CHANNEL],
    ] as const;
    for (const [i, [resource, header, channel]] of cases.entries()) {
      const recorded = retrace(loadRecorded("gen-ai-semconv"), 0x100 + i);
      const body = JsonTraceSerializer.serializeRequest(recordedReadableSpans(recorded, resource))!;
      const res = await post(
        hub,
        body,
        "application/json",
        header ? { "chorus-channel": header } : {},
      );
      expect(res.status).toBe(200);
      const events = await eventsOfTrace(hub, recorded[0]!.traceId);
      expect(events.length).toBeGreaterThan(0);
      expect(new Set(events.map((e) => e.channel))).toEqual(new Set([channel]));
    }
    const body = JsonTraceSerializer.serializeRequest(
      recordedReadableSpans(retrace(loadRecorded("gen-ai-semconv"), 0x200)),
    )!;
    // A channel named in UTF-8 (Node reads header bytes as Latin-1) is stored under its name.
    const named = retrace(loadRecorded("gen-ai-semconv"), 0x300);
    const utf8 = await post(
      hub,
      JsonTraceSerializer.serializeRequest(recordedReadableSpans(named))!,
      "application/json",
      { "chorus-channel": Buffer.from("recherche-café-研究", "utf8").toString("latin1") },
    );
    expect(utf8.status).toBe(200);
    const stored = await eventsOfTrace(hub, named[0]!.traceId);
    expect(new Set(stored.map((e) => e.channel))).toEqual(new Set(["recherche-café-研究"]));
    const bad = await post(hub, body, "application/json", { "chorus-channel": "c".repeat(201) });
    expect(bad.status).toBe(400);
    expect(JSON.parse(new TextDecoder().decode(bad.bytes)).error.message).toMatch(/Chorus-Channel/);
  });

  it("refuses malformed protobuf with 400, a google.rpc.Status body, and stores nothing", async () => {
    const res = await post(
      hub,
      Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f]),
      "application/x-protobuf",
    );
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toBe("application/x-protobuf");
    const status = decodeOtlpStatus(res.bytes);
    expect(status.code).toBe(3);
    expect(status.message).toMatch(
      /^validation_failed: invalid OTLP request; nothing was stored: malformed protobuf/,
    );
  });

  it("refuses a request with one bad span with 400 and stores none of its good spans", async () => {
    const recorded = retrace(loadRecorded("gen-ai-semconv"), 0x400);
    const { JsonTraceSerializer } = await import("@opentelemetry/otlp-transformer");
    const body = JSON.parse(
      new TextDecoder().decode(
        JsonTraceSerializer.serializeRequest(recordedReadableSpans(recorded))!,
      ),
    );
    const spans = body.resourceSpans[0].scopeSpans[0].spans;
    spans[spans.length - 1].spanId = "not-hex!";
    const before = await api(hub, `/v1/events?limit=1000`);
    const res = await post(hub, JSON.stringify(body), "application/json");
    expect(res.status).toBe(400);
    const error = JSON.parse(new TextDecoder().decode(res.bytes)).error;
    expect(error.code).toBe("validation_failed");
    expect(error.message).toMatch(/spanId: must be a hex string/);
    expect(error.details.issues[0].path).toMatch(
      /^resourceSpans\[0\]\.scopeSpans\[\d+\]\.spans\[\d+\]\.spanId$/,
    );
    expect(await eventsOfTrace(hub, recorded[0]!.traceId)).toEqual([]);
    expect((await api(hub, `/v1/events?limit=1000`)).body.data).toEqual(before.body.data);
  });

  it("refuses wrong JSON shapes and invalid JSON with 400", async () => {
    for (const body of ['{"resourceSpans":"no"}', "[1]", "{", '{"a":1,"__proto__":{}}']) {
      const res = await post(hub, body, "application/json");
      expect(res.status).toBe(400);
      expect(JSON.parse(new TextDecoder().decode(res.bytes)).error.message).toBeTruthy();
    }
  });

  it("applies the hub's JSON nesting limit to OTLP/JSON", async () => {
    const deep = `{"resourceSpans":${"[".repeat(200)}${"]".repeat(200)}}`;
    const res = await post(hub, deep, "application/json");
    expect(res.status).toBe(400);
    expect(JSON.parse(new TextDecoder().decode(res.bytes)).error.details.maxDepth).toBeGreaterThan(
      0,
    );
    expect(() => decodeOtlpTraces(deep, "application/json")).toThrow(/malformed JSON/);
  });

  it("refuses a gzip bomb with 413 without inflating it", async () => {
    // 32 MiB of zeros in 32 KiB: well under the 4 MiB received, far over it inflated.
    const bomb = gzipSync(Buffer.alloc(32 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(64 * 1024);
    const proto = await post(hub, bomb, "application/x-protobuf", { "content-encoding": "gzip" });
    expect(proto.status).toBe(413);
    expect(decodeOtlpStatus(proto.bytes).message).toMatch(/^payload_too_large: /);
    const json = await post(hub, bomb, "application/json", { "content-encoding": "gzip" });
    expect(json.status).toBe(413);
    expect(JSON.parse(new TextDecoder().decode(json.bytes)).error.code).toBe("payload_too_large");
  });

  it("refuses a body that is not gzip although it says so, and unknown encodings", async () => {
    const notGzip = await post(hub, "{}", "application/json", { "content-encoding": "gzip" });
    expect(notGzip.status).toBe(400);
    const br = await post(hub, "{}", "application/json", { "content-encoding": "br" });
    expect(br.status).toBe(415);
    const text = await post(hub, "{}", "text/plain");
    expect(text.status).toBe(415);
    expect(JSON.parse(new TextDecoder().decode(text.bytes)).error.message).toMatch(/x-protobuf/);
  });

  it("refuses a wrong key with 401 (a Status for protobuf) and a key without publish with 403", async () => {
    const spans = recordedReadableSpans(loadRecorded("gen-ai-semconv"));
    const result = await exportOnce(exporter(hub, "proto", "none", "wrong_key_0123456789"), spans);
    expect(result.code).toBe(ExportResultCode.FAILED);
    const proto = await post(
      hub,
      new Uint8Array(),
      "application/x-protobuf",
      {},
      "wrong_key_0123456789",
    );
    expect(proto.status).toBe(401);
    expect(decodeOtlpStatus(proto.bytes)).toEqual({
      code: 16,
      message: "unauthorized: invalid API key",
    });
    const json = await post(hub, "{}", "application/json", {}, "wrong_key_0123456789");
    expect(json.status).toBe(401);
    expect(JSON.parse(new TextDecoder().decode(json.bytes)).error.code).toBe("unauthorized");
    const readonly = await post(hub, "{}", "application/json", {}, KEY_A_READONLY);
    expect(readonly.status).toBe(403);
  });

  it("cuts strings harder for a span whose event would pass the event size limit", async () => {
    // 300 input messages of 4000 characters: over 1 MiB of strings after the mapping's usual cut.
    const messages = Array.from({ length: 300 }, (_, i) => ({
      role: "user",
      parts: [{ type: "text", content: `${i}`.padEnd(4000, "x") }],
    }));
    const body = otlpJson([
      span("1".repeat(32), "2".repeat(16), "chat big", [
        ["gen_ai.operation.name", { stringValue: "chat" }],
        ["gen_ai.request.model", { stringValue: "m" }],
        ["gen_ai.input.messages", { stringValue: JSON.stringify(messages) }],
      ]),
    ]);
    const res = await post(hub, body, "application/json");
    expect(res.status).toBe(200);
    expect(decodeOtlpTraceResponse(res.bytes, "json")).toEqual({});
    const events = await eventsOfTrace(hub, "1".repeat(32));
    expect(events.map((e) => e.type).sort()).toEqual(["llm.end", "llm.start"]);
    const start = events.find((e) => e.type === "llm.start")!;
    expect(JSON.stringify(start).length).toBeLessThan(256 * 1024);
    expect(JSON.stringify(start.payload)).toMatch(/…\[truncated \d+ chars\]/);
  });

  it("redacts secret-looking keys in span content, as the client's content capture does", async () => {
    const args = {
      apiKey: "sk-SECRET1",
      password: "hunter2",
      headers: { Authorization: "Bearer SECRET3" },
      maxTokens: 512, // a count under a token-ish key is no secret
      city: "Paris",
    };
    const body = otlpJson([
      span("5".repeat(32), "6".repeat(16), "execute_tool lookup", [
        ["gen_ai.operation.name", { stringValue: "execute_tool" }],
        ["gen_ai.tool.name", { stringValue: "lookup" }],
        ["gen_ai.tool.call.arguments", { stringValue: JSON.stringify(args) }],
        [
          "gen_ai.tool.call.result",
          { stringValue: JSON.stringify({ token: "SECRET4", ok: true }) },
        ],
      ]),
    ]);
    const res = await post(hub, body, "application/json");
    expect(res.status).toBe(200);
    const events = await eventsOfTrace(hub, "5".repeat(32));
    expect(events.map((e) => e.type).sort()).toEqual(["tool.end", "tool.start"]);
    expect(JSON.stringify(events)).not.toMatch(/SECRET|hunter2/);
    const start = events.find((e) => e.type === "tool.start")!;
    expect(start.payload.arguments).toEqual({
      apiKey: "[REDACTED]",
      password: "[REDACTED]",
      headers: { Authorization: "[REDACTED]" },
      maxTokens: 512,
      city: "Paris",
    });
    const end = events.find((e) => e.type === "tool.end")!;
    expect(JSON.stringify(end.payload.result)).toMatch(/"token":"\[REDACTED\]"/);
    expect(JSON.stringify(end.payload.result)).toMatch(/"ok":true/);
  });

  it("stores a span that cannot fit even cut without its largest fields, and says which", async () => {
    // 40000 short messages: no string to cut, so no cut makes the event fit.
    const messages = Array.from({ length: 40_000 }, () => ({ role: "user", content: "hi" }));
    const body = otlpJson([
      span("3".repeat(32), "4".repeat(16), "chat huge", [
        ["gen_ai.operation.name", { stringValue: "chat" }],
        ["gen_ai.request.model", { stringValue: "m" }],
        ["gen_ai.input.messages", { stringValue: JSON.stringify(messages) }],
      ]),
    ]);
    const res = await post(hub, body, "application/json");
    expect(res.status).toBe(200);
    expect(decodeOtlpTraceResponse(res.bytes, "json")).toEqual({});
    const events = await eventsOfTrace(hub, "3".repeat(32));
    expect(events.map((e) => e.type).sort()).toEqual(["llm.end", "llm.start"]);
    const start = events.find((e) => e.type === "llm.start")!;
    expect(start.payload).not.toHaveProperty("messages");
    expect(start.payload).toMatchObject({ model: "m" });
    expect((start as { metadata?: Record<string, unknown> }).metadata?.oversize).toEqual({
      bytes: expect.any(Number),
      dropped: ["payload.messages"],
    });
  });

  it("counts against the key's rate limit", async () => {
    const limited = await startTestHub({ rateLimit: { max: 1, windowMs: 60_000 } });
    try {
      expect((await post(limited, "{}", "application/json")).status).toBe(200);
      const second = await post(limited, new Uint8Array(), "application/x-protobuf");
      expect(second.status).toBe(429);
      expect(second.headers.get("retry-after")).toBeTruthy();
      expect(decodeOtlpStatus(second.bytes).message).toMatch(/^rate_limited: /);
    } finally {
      await limited.close();
    }
  });

  it("keeps its parsers to itself: /v1/events still refuses protobuf", async () => {
    const res = await fetch(`${hub.url}/v1/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY_A}`, "content-type": "application/x-protobuf" },
      body: new Uint8Array([1, 2, 3]),
    });
    expect(res.status).toBe(415);
  });

  it("decodes what it stores with the official definitions (protobufjs round trip)", () => {
    expect(otlpTypes().request.fullName).toBe(
      ".opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest",
    );
  });
});

async function post(
  hub: Hub,
  body: Uint8Array | string,
  contentType: string,
  headers: Record<string, string> = {},
  key = KEY_A,
): Promise<{ status: number; headers: Headers; bytes: Uint8Array }> {
  const res = await fetch(`${hub.url}/v1/traces`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": contentType, ...headers },
    body,
  });
  return {
    status: res.status,
    headers: res.headers,
    bytes: new Uint8Array(await res.arrayBuffer()),
  };
}

type Attr = [string, Record<string, unknown>];

function span(traceId: string, spanId: string, name: string, attributes: Attr[]) {
  return {
    traceId,
    spanId,
    name,
    startTimeUnixNano: "1700000000000000000",
    endTimeUnixNano: "1700000000500000000",
    attributes: attributes.map(([key, value]) => ({ key, value })),
  };
}

function otlpJson(spans: unknown[]): string {
  return JSON.stringify({ resourceSpans: [{ scopeSpans: [{ scope: { name: "test" }, spans }] }] });
}
