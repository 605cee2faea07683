import { gzipSync } from "node:zlib";
import { JsonTraceSerializer, ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { describe, expect, it } from "vitest";
import { decodeOtlpTraces, MAX_OTLP_SPANS, OtlpDecodeError, otlpFormatOf } from "../src/index.js";
import {
  decodeOtlpStatus,
  decodeOtlpTraceResponse,
  encodeOtlpStatus,
  encodeOtlpTraceResponse,
} from "../src/otlp/response.js";
import { otlpTypes } from "../src/otlp/schema.js";
import { asOtelSpan, FIXTURES, loadRecorded, recordedReadableSpans } from "./otlp-fixtures.js";

const RESOURCE = { "service.name": "weather", "chorus.channel": "research" };

// The exporters' own serializers (@opentelemetry/otlp-transformer) produce the bytes; the
// decoder must give back the spans the in-process path would map.
describe("decodeOtlpTraces", () => {
  for (const fixture of FIXTURES) {
    for (const [format, serializer] of [
      ["protobuf", ProtobufTraceSerializer],
      ["json", JsonTraceSerializer],
    ] as const) {
      it(`${fixture} over OTLP/${format} decodes to the recorded spans`, () => {
        const recorded = loadRecorded(fixture);
        const body = serializer.serializeRequest(recordedReadableSpans(recorded, RESOURCE));
        if (!body) throw new Error("serializer returned nothing");
        const contentType = format === "json" ? "application/json" : "application/x-protobuf";
        const spans = decodeOtlpTraces(body, contentType);
        const expected = recorded.map((s) => asOtelSpan(s, RESOURCE));
        const byId = (a: { spanId: string }, b: { spanId: string }) =>
          a.spanId.localeCompare(b.spanId);
        const comparable = (s: ReturnType<typeof asOtelSpan>) => ({
          ...s,
          // The SDK adds its own resource attributes (telemetry.sdk.*) next to ours.
          resource: s.resource && {
            "service.name": s.resource["service.name"],
            "chorus.channel": s.resource["chorus.channel"],
          },
          status: { code: s.status?.code, ...(s.status?.message && { message: s.status.message }) },
          events: (s.events ?? []).map((e) => ({ ...e, attributes: e.attributes ?? {} })),
        });
        expect(spans.map(comparable).sort(byId)).toEqual(expected.map(comparable).sort(byId));
      });
    }
  }

  it("reads the JSON mapping's variants: upper-case hex, int64 as numbers, nulls, unknown fields", () => {
    const spans = decodeOtlpTraces(
      JSON.stringify({
        resourceSpans: [
          {
            resource: { attributes: [{ key: "chorus.channel", value: { stringValue: "c" } }] },
            futureField: { anything: true },
            scopeSpans: [
              {
                scope: { name: "s", version: "1" },
                spans: [
                  {
                    traceId: "5B8EFFF798038103D269B633813FC60C",
                    spanId: "EEE19B7EC3C1B174",
                    parentSpanId: "",
                    name: "chat m",
                    kind: 3,
                    startTimeUnixNano: 1_700_000_000_000_000_000,
                    endTimeUnixNano: "1700000000250000000",
                    attributes: [
                      { key: "gen_ai.operation.name", value: { stringValue: "chat" } },
                      { key: "n", value: { intValue: "42" } },
                      { key: "big", value: { intValue: "9007199254740993" } },
                      { key: "d", value: { doubleValue: 0.5 } },
                      {
                        key: "list",
                        value: { arrayValue: { values: [{ intValue: 1 }, { boolValue: true }] } },
                      },
                      {
                        key: "map",
                        value: {
                          kvlistValue: { values: [{ key: "a", value: { stringValue: "b" } }] },
                        },
                      },
                      { key: "empty", value: {} },
                      { key: "__proto__", value: { arrayValue: { values: [] } } },
                    ],
                    status: { code: 2, message: null },
                    droppedAttributesCount: 0,
                  },
                ],
              },
            ],
          },
        ],
      }),
      "application/json; charset=utf-8",
    );
    expect(spans).toEqual([
      {
        name: "chat m",
        traceId: "5b8efff798038103d269b633813fc60c",
        spanId: "eee19b7ec3c1b174",
        startTimeMs: 1_700_000_000_000,
        endTimeMs: 1_700_000_000_250,
        attributes: {
          "gen_ai.operation.name": "chat",
          n: 42,
          big: "9007199254740993",
          d: 0.5,
          list: [1, true],
          map: '{"a":"b"}',
        },
        events: [],
        resource: { "chorus.channel": "c" },
        scope: "s",
        status: { code: 2 },
      },
    ]);
    expect(Object.getPrototypeOf(spans[0]?.attributes)).toBe(Object.prototype);
  });

  it("an empty request is no spans", () => {
    expect(decodeOtlpTraces(new Uint8Array(), "application/x-protobuf")).toEqual([]);
    expect(decodeOtlpTraces("{}", "application/json")).toEqual([]);
  });

  const span = (over: Record<string, unknown>) =>
    JSON.stringify({
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  traceId: "5b8efff798038103d269b633813fc60c",
                  spanId: "eee19b7ec3c1b174",
                  name: "x",
                  ...over,
                },
              ],
            },
          ],
        },
      ],
    });

  it.each([
    ["not JSON", "{", /malformed JSON/],
    ["not an object", "[]", /body: must be an object/],
    ["resourceSpans not a list", '{"resourceSpans":{}}', /resourceSpans: must be an array/],
    ["short trace id", span({ traceId: "abcd" }), /spans\[0\]\.traceId: must be 16 bytes/],
    ["base64 span id", span({ spanId: "7uGbfsPBsXQ=" }), /spanId: must be a hex string/],
    ["zero trace id", span({ traceId: "0".repeat(32) }), /traceId: must not be all zeros/],
    ["missing span id", span({ spanId: undefined }), /spanId: must be 8 bytes/],
    ["bad parent id", span({ parentSpanId: "abc" }), /parentSpanId: must be 8 bytes/],
    [
      "time as a float",
      span({ startTimeUnixNano: 1.5 }),
      /startTimeUnixNano: must be an unsigned 64-bit/,
    ],
    ["name a number", span({ name: 3 }), /spans\[0\]\.name: must be a string/],
    [
      "attribute value wrong",
      span({ attributes: [{ key: "k", value: { boolValue: "yes" } }] }),
      /attributes\[0\]\.value\.boolValue: must be a boolean/,
    ],
    ["status code a string", span({ status: { code: "bad" } }), /status\.code: must be an integer/],
  ])("refuses %s with the field's path", (_what, body, message) => {
    expect(() => decodeOtlpTraces(body, "application/json")).toThrow(OtlpDecodeError);
    expect(() => decodeOtlpTraces(body, "application/json")).toThrow(message);
  });

  it("refuses malformed protobuf, and bytes that are gzip rather than protobuf", () => {
    expect(() =>
      decodeOtlpTraces(Buffer.from([0x0a, 0xff, 0xff, 0x01]), "application/x-protobuf"),
    ).toThrow(/malformed protobuf/);
    const gz = gzipSync(Buffer.from("hello"));
    expect(() => decodeOtlpTraces(gz, "application/x-protobuf")).toThrow(OtlpDecodeError);
  });

  it("refuses a protobuf span whose ids have the wrong length", () => {
    const { request } = otlpTypes();
    const bytes = request
      .encode(
        request.fromObject({
          resourceSpans: [
            {
              scopeSpans: [
                { spans: [{ traceId: Buffer.alloc(8, 1), spanId: Buffer.alloc(8, 2), name: "x" }] },
              ],
            },
          ],
        }),
      )
      .finish();
    expect(() => decodeOtlpTraces(bytes, "application/x-protobuf")).toThrow(
      "resourceSpans[0].scopeSpans[0].spans[0].traceId: must be 16 bytes (32 hex characters); got 8",
    );
  });

  it(`refuses more than ${MAX_OTLP_SPANS} spans as too large`, () => {
    const one = {
      traceId: "5b8efff798038103d269b633813fc60c",
      spanId: "eee19b7ec3c1b174",
      name: "x",
    };
    const body = {
      resourceSpans: [{ scopeSpans: [{ spans: Array(MAX_OTLP_SPANS + 1).fill(one) }] }],
    };
    let error: unknown;
    try {
      decodeOtlpTraces(body, "json");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(OtlpDecodeError);
    expect((error as OtlpDecodeError).tooLarge).toBe(true);
  });

  it("names the content types it reads", () => {
    expect(otlpFormatOf("application/x-protobuf")).toBe("protobuf");
    expect(otlpFormatOf("Application/JSON; charset=utf-8")).toBe("json");
    expect(otlpFormatOf("text/plain")).toBeUndefined();
    expect(() => decodeOtlpTraces("{}", "text/plain")).toThrow(/unsupported content type/);
  });
});

describe("ExportTraceServiceResponse and Status", () => {
  it("round-trips in both encodings", () => {
    for (const format of ["protobuf", "json"] as const) {
      expect(decodeOtlpTraceResponse(encodeOtlpTraceResponse({}, format), format)).toEqual({});
      const partial = { partialSuccess: { rejectedSpans: 3, errorMessage: "too big" } };
      expect(decodeOtlpTraceResponse(encodeOtlpTraceResponse(partial, format), format)).toEqual(
        partial,
      );
    }
    expect(encodeOtlpTraceResponse({}, "protobuf")).toHaveLength(0);
    expect(
      JSON.parse(
        encodeOtlpTraceResponse({ partialSuccess: { rejectedSpans: 2 } }, "json") as string,
      ),
    ).toEqual({
      partialSuccess: { rejectedSpans: "2" },
    });
  });

  it("encodes google.rpc.Status", () => {
    expect(decodeOtlpStatus(encodeOtlpStatus({ code: 3, message: "bad" }))).toEqual({
      code: 3,
      message: "bad",
    });
  });
});
