import { request } from "node:http";
import type { ChorusEvent } from "@chorus/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeOtlpTraces, type Hub } from "../src/index.js";
import { decodeOtlpStatus } from "../src/otlp/response.js";
import { otlpTypes } from "../src/otlp/schema.js";
import { api, KEY_A, startTestHub } from "./helpers.js";

/*
 * POST /v1/traces as a hostile or careless exporter uses it: requests written by hand, sent with
 * node:http so headers go out exactly as written (fetch would merge repeated ones).
 */

const TRACE = "6c8efff798038103d269b633813fc60c";
let spans = 0;
/** A chat span with a fresh span id, in OTLP/JSON. */
function chat(over: Record<string, unknown> = {}, attributes: unknown[] = []) {
  return {
    traceId: TRACE,
    spanId: (++spans).toString(16).padStart(16, "a"),
    name: "chat m",
    startTimeUnixNano: "1700000000000000000",
    endTimeUnixNano: "1700000001000000000",
    attributes: [{ key: "gen_ai.operation.name", value: { stringValue: "chat" } }, ...attributes],
    ...over,
  };
}
const otlp = (list: unknown[], resource?: unknown, scope?: unknown) => ({
  resourceSpans: [
    {
      ...(resource !== undefined && { resource }),
      scopeSpans: [{ ...(scope !== undefined && { scope }), spans: list }],
    },
  ],
});

function post(
  hub: Hub,
  body: string | Uint8Array,
  headers: Record<string, string | string[]>,
): Promise<{ status: number; type: string | undefined; body: Buffer }> {
  const url = new URL(`${hub.url}/v1/traces`);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: "POST", headers: { authorization: `Bearer ${KEY_A}`, ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            type: res.headers["content-type"],
            body: Buffer.concat(chunks),
          }),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}
const json = (hub: Hub, body: unknown, headers: Record<string, string | string[]> = {}) =>
  post(hub, JSON.stringify(body), { "content-type": "application/json", ...headers });
const errorOf = (res: { body: Buffer }) => JSON.parse(res.body.toString()).error;

async function stored(hub: Hub, spanId: string): Promise<ChorusEvent[]> {
  const page = await api(hub, `/v1/events?traceId=${TRACE}&limit=1000`);
  return (page.body.data as ChorusEvent[]).filter((e) => e.spanId === spanId);
}

describe("POST /v1/traces under hostile input", () => {
  let hub: Hub;
  beforeAll(async () => {
    hub = await startTestHub();
  });
  afterAll(async () => {
    await hub.close();
  });

  it("a time written as a JSON number past 2^64 is a 400 naming the field, not a 500", async () => {
    const span = chat({ startTimeUnixNano: 1e21 });
    const res = await json(hub, otlp([span]));
    expect(res.status).toBe(400);
    expect(errorOf(res).details.issues[0].path).toMatch(/spans\[0\]\.startTimeUnixNano$/);
    expect(await stored(hub, span.spanId)).toEqual([]);
  });

  it("refuses integers out of their protobuf range (int64 attributes, int32 status codes)", () => {
    for (const intValue of ["99999999999999999999", -1e20]) {
      expect(() =>
        decodeOtlpTraces(otlp([chat({}, [{ key: "n", value: { intValue } }])]), "json"),
      ).toThrow(/attributes\[1\]\.value\.intValue: out of the 64-bit range/);
    }
    expect(() => decodeOtlpTraces(otlp([chat({ status: { code: 2 ** 40 } })]), "json")).toThrow(
      /status\.code: must be an integer status code/,
    );
    // The edges themselves are read.
    const [span] = decodeOtlpTraces(
      otlp([chat({}, [{ key: "max", value: { intValue: "9223372036854775807" } }])]),
      "json",
    );
    expect(span?.attributes.max).toBe("9223372036854775807");
  });

  it("reads an all-zero parent span id as no parent (some exporters write a root span so), in both encodings", () => {
    const span = chat({ parentSpanId: "0000000000000000" });
    const [fromJson] = decodeOtlpTraces(otlp([span]), "json");
    expect(fromJson?.parentSpanId).toBeUndefined();
    const { request: type } = otlpTypes();
    const bytes = type
      .encode(
        type.fromObject({
          resourceSpans: [
            {
              scopeSpans: [
                {
                  spans: [
                    {
                      traceId: Buffer.from(TRACE, "hex"),
                      spanId: Buffer.alloc(8, 7),
                      parentSpanId: Buffer.alloc(8),
                      name: "x",
                    },
                  ],
                },
              ],
            },
          ],
        }),
      )
      .finish();
    expect(decodeOtlpTraces(bytes, "protobuf")[0]?.parentSpanId).toBeUndefined();
  });

  it("a span missing its end (or start) time takes the other, instead of ending (or starting) in 1970", async () => {
    const noEnd = chat({ endTimeUnixNano: undefined });
    const noStart = chat({ startTimeUnixNano: "0" });
    expect((await json(hub, otlp([noEnd, noStart]))).status).toBe(200);
    const times = async (id: string) =>
      (await stored(hub, id)).map((e) => [e.type, e.occurredAt, e.payload.latencyMs]);
    expect(await times(noEnd.spanId)).toEqual([
      ["llm.start", "2023-11-14T22:13:20.000Z", undefined],
      ["llm.end", "2023-11-14T22:13:20.000Z", 0],
    ]);
    expect(await times(noStart.spanId)).toEqual([
      ["llm.start", "2023-11-14T22:13:21.000Z", undefined],
      ["llm.end", "2023-11-14T22:13:21.000Z", 0],
    ]);
  });

  it("stores no __proto__ key from a JSON attribute (the hub refuses them in every other body)", async () => {
    const span = chat({}, [
      {
        key: "gen_ai.input.messages",
        value: { stringValue: '[{"role":"user","__proto__":{"admin":true},"content":"hi"}]' },
      },
    ]);
    expect((await json(hub, otlp([span]))).status).toBe(200);
    const [start] = await stored(hub, span.spanId);
    expect(start?.payload.messages).toEqual([{ role: "user", content: "hi" }]);
  });

  it("a huge scope name is cut like any other string, not a refused span", async () => {
    const span = chat();
    const res = await json(hub, otlp([span], undefined, { name: "s".repeat(400_000) }));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString())).toEqual({});
    const events = await stored(hub, span.spanId);
    expect(events).toHaveLength(2);
    expect(events[0]?.metadata.scope).toMatch(/^s+…\[truncated \d+ chars\]$/);
  });

  it("refuses a Chorus-Channel header sent twice, rather than storing under the joined 'a, b'", async () => {
    const span = chat();
    const res = await json(hub, otlp([span]), { "chorus-channel": ["a", "b"] });
    expect(res.status).toBe(400);
    expect(errorOf(res).message).toMatch(/Chorus-Channel header sent more than once/);
    expect(await stored(hub, span.spanId)).toEqual([]);
    // One header whose value holds a comma is a channel like any other.
    const one = chat();
    expect((await json(hub, otlp([one]), { "chorus-channel": "a, b" })).status).toBe(200);
    expect((await stored(hub, one.spanId))[0]?.channel).toBe("a, b");
  });

  it("refuses a chorus.channel resource attribute that is not a string, instead of using the default channel", async () => {
    for (const value of [{ intValue: 5 }, { arrayValue: { values: [{ stringValue: "a" }] } }]) {
      const span = chat();
      const resource = { attributes: [{ key: "chorus.channel", value }] };
      const res = await json(hub, otlp([span], resource));
      expect(res.status).toBe(400);
      expect(errorOf(res).details.issues[0].path).toBe("resource.attributes.chorus.channel");
      expect(await stored(hub, span.spanId)).toEqual([]);
    }
  });

  it("refuses AnyValue nested 10,000 deep in protobuf with 400 (the decoder's depth limit), and reads 10 deep", async () => {
    const varint = (n: number) => {
      const out: number[] = [];
      for (; n > 127; n = Math.floor(n / 128)) out.push((n & 127) | 128);
      out.push(n);
      return Buffer.from(out);
    };
    const field = (tag: number, bytes: Buffer) =>
      Buffer.concat([Buffer.from([tag]), varint(bytes.length), bytes]);
    const request = (depth: number, spanId: Buffer) => {
      let value = field(0x0a, Buffer.from("x")); // AnyValue.string_value
      for (let i = 0; i < depth; i++) value = field(0x2a, field(0x0a, value)); // array_value { values }
      const { request: type } = otlpTypes();
      const spanType = type.root.lookupType("opentelemetry.proto.trace.v1.Span");
      const span = Buffer.concat([
        spanType
          .encode(
            spanType.fromObject({
              traceId: Buffer.from(TRACE, "hex"),
              spanId,
              name: "chat m",
              startTimeUnixNano: "1700000000000000000",
              endTimeUnixNano: "1700000001000000000",
              attributes: [{ key: "gen_ai.operation.name", value: { stringValue: "chat" } }],
            }),
          )
          .finish(),
        field(0x4a, Buffer.concat([field(0x0a, Buffer.from("deep")), field(0x12, value)])), // Span.attributes
      ]);
      return field(0x0a, field(0x12, field(0x12, span))); // resource_spans { scope_spans { spans } }
    };
    const deep = await post(hub, request(10_000, Buffer.alloc(8, 0x31)), {
      "content-type": "application/x-protobuf",
    });
    expect(deep.status).toBe(400);
    expect(decodeOtlpStatus(deep.body).message).toMatch(/^validation_failed: .*malformed protobuf/);
    const shallow = await post(hub, request(10, Buffer.alloc(8, 0x32)), {
      "content-type": "application/x-protobuf; charset=utf-8",
    });
    expect(shallow.status).toBe(200);
    expect(shallow.type).toBe("application/x-protobuf");
    expect(await stored(hub, "3232323232323232")).toHaveLength(2);
  });
});
