import { MAX_BATCH_EVENTS, MAX_BODY_BYTES, MAX_EVENT_BYTES } from "@chorus/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Hub } from "../src/index.js";
import { api, KEY_A, KEY_A_READONLY, KEY_B, startTestHub } from "./helpers.js";

/** One bad request and the refusal a client must see. */
interface Case {
  name: string;
  path: string;
  method?: string;
  key?: string | null;
  body?: unknown;
  headers?: Record<string, string>;
  status: number;
  code: string;
  /** Extra checks on `error.details`. */
  details?: (details: any) => void;
}

const INTENT = "bad-input-intent";
const big = (bytes: number) => "x".repeat(bytes);

const cases: Case[] = [
  // Body shape
  {
    name: "malformed JSON",
    path: "/v1/events",
    method: "POST",
    body: "{not json",
    status: 400,
    code: "invalid_json",
  },
  {
    name: "truncated JSON",
    path: "/v1/intents",
    method: "POST",
    body: '{"title": "x"',
    status: 400,
    code: "invalid_json",
  },
  {
    name: "wrong types",
    path: "/v1/events",
    body: { channel: 5, type: "x" },
    status: 400,
    code: "validation_failed",
    details: (d) => expect(d.issues.map((i: any) => i.path)).toContain("body.channel"),
  },
  {
    name: "unknown field",
    path: "/v1/events",
    body: { channel: "c", type: "x", bogus: 1 },
    status: 400,
    code: "validation_failed",
  },
  {
    name: "empty JSON body",
    path: "/v1/events",
    method: "POST",
    body: "",
    status: 400,
    code: "validation_failed",
  },
  {
    name: "no body at all",
    path: "/v1/intents",
    method: "POST",
    status: 400,
    code: "validation_failed",
  },
  {
    name: "JSON null body",
    path: "/v1/events",
    method: "POST",
    body: "null",
    status: 400,
    code: "validation_failed",
  },
  {
    name: "JSON array body",
    path: "/v1/events",
    body: [{ channel: "c", type: "x" }],
    status: 400,
    code: "validation_failed",
  },
  {
    name: "__proto__ key",
    path: `/v1/intents/${INTENT}/state`,
    method: "PATCH",
    body: '{"__proto__": {"polluted": true}}',
    status: 400,
    code: "validation_failed",
  },
  {
    name: "body over MAX_BODY_BYTES",
    path: "/v1/events",
    body: { channel: "c", type: "x", payload: { blob: big(MAX_BODY_BYTES) } },
    status: 413,
    code: "payload_too_large",
  },
  {
    name: "one event over MAX_EVENT_BYTES",
    path: "/v1/events",
    body: { channel: "c", type: "x", payload: { blob: big(MAX_EVENT_BYTES) } },
    status: 413,
    code: "payload_too_large",
  },
  {
    name: `batch over ${MAX_BATCH_EVENTS} events`,
    path: "/v1/events",
    body: {
      events: Array.from({ length: MAX_BATCH_EVENTS + 1 }, () => ({ channel: "c", type: "x" })),
    },
    status: 413,
    code: "payload_too_large",
  },
  {
    name: "batch with one bad event lists it by index",
    path: "/v1/events",
    body: { events: [{ channel: "c", type: "x" }, { channel: "c" }] },
    status: 400,
    code: "validation_failed",
    details: (d) => expect(d.problems).toMatchObject([{ index: 1, code: "validation_failed" }]),
  },
  {
    name: "empty batch",
    path: "/v1/events",
    body: { events: [] },
    status: 400,
    code: "validation_failed",
  },
  {
    name: "forged intent lifecycle event",
    path: "/v1/events",
    body: { channel: "intents", type: "intent.state_changed", intentId: INTENT },
    status: 400,
    code: "validation_failed",
  },
  {
    name: "unsupported content-type",
    path: "/v1/events",
    body: "channel=c",
    headers: { "content-type": "text/plain" },
    status: 415,
    code: "unsupported_media_type",
  },
  {
    name: "form content-type",
    path: "/v1/intents",
    body: "title=x",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    status: 415,
    code: "unsupported_media_type",
  },

  // Intents
  { name: "unknown intent", path: "/v1/intents/no-such-intent", status: 404, code: "not_found" },
  {
    name: "unknown intent's log",
    path: "/v1/intents/no-such-intent/events",
    status: 404,
    code: "not_found",
  },
  {
    name: "status of unknown intent",
    path: "/v1/intents/no-such-intent/status",
    body: { status: "completed" },
    status: 404,
    code: "not_found",
  },
  {
    name: "illegal status transition",
    path: `/v1/intents/${INTENT}/status`,
    body: { status: "draft" },
    status: 422,
    code: "invalid_transition",
    details: (d) => expect(d).toEqual({ from: "active", to: "draft" }),
  },
  {
    name: "unknown status",
    path: `/v1/intents/${INTENT}/status`,
    body: { status: "done" },
    status: 400,
    code: "validation_failed",
  },
  {
    name: "version conflict",
    path: `/v1/intents/${INTENT}/state`,
    method: "PATCH",
    body: { a: 1 },
    headers: { "if-match": "99" },
    status: 409,
    code: "conflict",
    details: (d) => expect(d.currentVersion).toBe(1),
  },
  {
    name: "garbled If-Match",
    path: `/v1/intents/${INTENT}/state`,
    method: "PATCH",
    body: { a: 1 },
    headers: { "if-match": "seven" },
    status: 400,
    code: "validation_failed",
  },
  {
    name: "state patch that is not an object",
    path: `/v1/intents/${INTENT}/state`,
    method: "PATCH",
    body: [1, 2],
    status: 400,
    code: "validation_failed",
  },
  {
    name: "intent without title",
    path: "/v1/intents",
    body: { state: {} },
    status: 400,
    code: "validation_failed",
  },
  {
    name: "duplicate intent id",
    path: "/v1/intents",
    body: { id: INTENT, title: "again" },
    status: 409,
    code: "conflict",
  },
  {
    name: "comment without text",
    path: `/v1/intents/${INTENT}/events`,
    body: { payload: { note: 1 } },
    status: 400,
    code: "validation_failed",
  },
  {
    name: "reserved intent event type",
    path: `/v1/intents/${INTENT}/events`,
    body: { type: "intent.status_changed", payload: {} },
    status: 400,
    code: "validation_failed",
  },
  {
    name: "intent event outside intent.*",
    path: `/v1/intents/${INTENT}/events`,
    body: { type: "tool.start", text: "hi" },
    status: 400,
    code: "validation_failed",
  },
  {
    name: "malformed intent id",
    path: "/v1/intents/bad%20id",
    status: 400,
    code: "validation_failed",
  },
  {
    name: "broken percent-encoding",
    path: "/v1/intents/%E0%A4%A",
    status: 400,
    code: "validation_failed",
  },

  // Auth
  { name: "missing key", path: "/v1/events", key: null, status: 401, code: "unauthorized" },
  {
    name: "wrong key",
    path: "/v1/events",
    key: "key_wrong_0123456789",
    status: 401,
    code: "unauthorized",
  },
  {
    name: "malformed Authorization",
    path: "/v1/events",
    key: null,
    headers: { authorization: KEY_A },
    status: 401,
    code: "unauthorized",
  },
  {
    name: "read-only key publishing",
    path: "/v1/events",
    key: KEY_A_READONLY,
    body: { channel: "c", type: "x" },
    status: 403,
    code: "forbidden",
  },
  {
    name: "read-only key patching state",
    path: `/v1/intents/${INTENT}/state`,
    method: "PATCH",
    key: KEY_A_READONLY,
    body: { a: 1 },
    status: 403,
    code: "forbidden",
  },
  {
    name: "another org's intent",
    path: `/v1/intents/${INTENT}`,
    key: KEY_B,
    status: 404,
    code: "not_found",
  },
  {
    name: "another org's intent log",
    path: `/v1/intents/${INTENT}/events`,
    key: KEY_B,
    status: 404,
    code: "not_found",
  },
  {
    name: "another org's intent stream",
    path: `/v1/intents/${INTENT}/stream`,
    key: KEY_B,
    status: 404,
    code: "not_found",
  },
  {
    name: "another org's intent state",
    path: `/v1/intents/${INTENT}/state`,
    method: "PATCH",
    key: KEY_B,
    body: { hijacked: true },
    status: 404,
    code: "not_found",
  },
  {
    name: "another org's intent assignees",
    path: `/v1/intents/${INTENT}/assignees/mallory`,
    method: "POST",
    key: KEY_B,
    status: 404,
    code: "not_found",
  },

  // Names: any printable text is a name (see names.test.ts); control characters are not
  {
    name: "channel with a newline",
    path: "/v1/events",
    body: { channel: "a\nb", type: "x" },
    status: 400,
    code: "validation_failed",
  },
  {
    name: "agent with NUL",
    path: "/v1/events",
    body: { channel: "c", type: "x", agent: "a\u0000" },
    status: 400,
    code: "validation_failed",
  },
  {
    name: "type with /",
    path: "/v1/events",
    body: { channel: "c", type: "a/b" },
    status: 400,
    code: "validation_failed",
  },
  {
    name: "assignee with a control character",
    path: `/v1/intents/${INTENT}/assignees/a%07b`,
    method: "POST",
    status: 400,
    code: "validation_failed",
  },
  {
    name: "stream channel with a control character",
    path: "/v1/channels/a%0Ab/stream",
    status: 400,
    code: "validation_failed",
  },
  {
    name: "filter channel with a control character",
    path: "/v1/events?channel=a%1Fb",
    status: 400,
    code: "validation_failed",
  },

  // Query params
  {
    name: "limit not a number",
    path: "/v1/events?limit=abc",
    status: 400,
    code: "validation_failed",
  },
  { name: "limit zero", path: "/v1/events?limit=0", status: 400, code: "validation_failed" },
  {
    name: "limit too large",
    path: "/v1/events?limit=100000",
    status: 400,
    code: "validation_failed",
  },
  { name: "negative after", path: "/v1/events?after=-1", status: 400, code: "validation_failed" },
  // A cursor spelled wrong must not read as 0 (a reader would start over at page one).
  ...["", "%20", "0x1", "1e3", "1.5"].map((after) => ({
    name: `after=${after} on events`,
    path: `/v1/events?after=${after}`,
    status: 400,
    code: "validation_failed",
  })),
  ...["abc", "-1", "1.5", ""].map((after) => ({
    name: `after=${after} on intents`,
    path: `/v1/intents?after=${after}`,
    status: 400,
    code: "validation_failed",
  })),
  { name: "limit in hex", path: "/v1/intents?limit=0x10", status: 400, code: "validation_failed" },
  {
    name: "unknown query param",
    path: "/v1/events?colour=red",
    status: 400,
    code: "validation_failed",
  },
  {
    name: "repeated query param",
    path: "/v1/events?limit=1&limit=2",
    status: 400,
    code: "validation_failed",
  },
  { name: "bad traceId", path: "/v1/events?traceId=xyz", status: 400, code: "validation_failed" },
  {
    name: "unknown param on intent log",
    path: `/v1/intents/${INTENT}/events?colour=red`,
    status: 400,
    code: "validation_failed",
  },
  {
    name: "intentId on an intent stream",
    path: `/v1/intents/${INTENT}/stream?intentId=other`,
    status: 400,
    code: "validation_failed",
  },
  {
    name: "intent id too long",
    path: `/v1/intents/${"i".repeat(129)}`,
    status: 400,
    code: "validation_failed",
  },
  {
    name: "bad intent status filter",
    path: "/v1/intents?status=done",
    status: 400,
    code: "validation_failed",
  },
  {
    name: "bad stream types",
    path: "/v1/channels/c/stream?types=a/b",
    status: 400,
    code: "validation_failed",
  },
  {
    name: "bad stream after",
    path: "/v1/channels/c/stream?after=x",
    status: 400,
    code: "validation_failed",
  },
  {
    name: "credentials ttl out of range",
    path: "/v1/realtime/credentials",
    body: { ttlSeconds: 1 },
    status: 400,
    code: "validation_failed",
  },

  // Routing
  { name: "unknown route", path: "/v1/nothing-here", status: 404, code: "not_found" },
  { name: "unknown route without /v1", path: "/admin", key: null, status: 404, code: "not_found" },
  {
    name: "wrong method",
    path: "/v1/events",
    method: "PUT",
    body: {},
    status: 404,
    code: "not_found",
  },
  {
    name: "wrong method on intent",
    path: `/v1/intents/${INTENT}`,
    method: "DELETE",
    status: 404,
    code: "not_found",
  },
];

describe("bad input over real HTTP", () => {
  let hub: Hub;

  beforeAll(async () => {
    hub = await startTestHub();
    const created = await api(hub, "/v1/intents", { body: { id: INTENT, title: "guarded" } });
    expect(created.status).toBe(201);
    await api(hub, "/v1/events", {
      body: { channel: "secret", type: "x", payload: { s: "org A only" } },
    });
  });
  afterAll(() => hub.close());

  it.each(cases)("$name → $status $code", async (c) => {
    const res = await api(hub, c.path, {
      method: c.method,
      key: c.key === undefined ? KEY_A : c.key,
      body: c.body,
      headers: c.headers,
    });
    expect(res.status).toBe(c.status);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.body).toEqual({
      error: expect.objectContaining({
        code: c.code,
        message: expect.any(String),
        requestId: expect.any(String),
      }),
    });
    expect(Object.keys(res.body.error).sort()).toEqual(
      expect.arrayContaining(["code", "message", "requestId"]),
    );
    c.details?.(res.body.error.details);
  });

  it("never leaks org A's data to org B", async () => {
    const res = await api(hub, "/v1/events?channel=secret", { key: KEY_B });
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual([]);
    expect(res.body.next).toBeUndefined();
    const intents = await api(hub, "/v1/intents", { key: KEY_B });
    expect(intents.body.data).toEqual([]);
    const conflict = await api(hub, `/v1/intents/${INTENT}/state`, {
      method: "PATCH",
      key: KEY_B,
      body: { a: 1 },
      headers: { "if-match": "99" },
    });
    // 404, not 409: a conflict would reveal the intent exists and its version.
    expect(conflict.status).toBe(404);
    expect(JSON.stringify(conflict.body)).not.toContain("currentVersion");
  });

  it("ignores a malformed Last-Event-ID and streams from now", async () => {
    const controller = new AbortController();
    const res = await fetch(`${hub.url}/v1/channels/c/stream`, {
      headers: { authorization: `Bearer ${KEY_A}`, "last-event-id": "not-a-seq" },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    controller.abort();
  });

  it("left nothing broken: the hub still answers and nothing was a 500", async () => {
    expect((await api(hub, "/healthz", { key: null })).status).toBe(200);
    expect((await api(hub, "/readyz", { key: null })).status).toBe(200);
    const ok = await api(hub, "/v1/events", { body: { channel: "c", type: "after.bad.input" } });
    expect(ok.status).toBe(202);
    const intent = await api(hub, `/v1/intents/${INTENT}`);
    // None of the refused writes touched the intent.
    expect(intent.body).toMatchObject({ status: "active", version: 1, state: {}, assignees: [] });
    const metrics = await api(hub, "/metrics", { key: null });
    expect(metrics.body).not.toMatch(/status="5\d\d"/);
  });
});
