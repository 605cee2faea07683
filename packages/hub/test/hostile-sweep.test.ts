import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Hub } from "../src/index.js";
import { KEY_A, startTestHub } from "./helpers.js";

/*
 * A seeded sweep of hostile requests over every route: random methods, ids and query values
 * (traversal, NUL, percent garbage, huge numbers, `__proto__`), bodies of every wrong shape
 * (malformed and deeply nested JSON, oversize batches, bad protobuf, truncated or bomb gzip),
 * wrong content types and encodings, bad keys, broken `Last-Event-ID` and `traceparent`.
 * Whatever comes in: never a 5xx, every error body the JSON envelope (or, for a protobuf OTLP
 * request, its `google.rpc.Status`), and the hub still answers afterwards. The same seed gives
 * the same requests, so a failure reproduces.
 */

const REQUESTS = 1500;
const SEED = 20261204;

function random(seed: number) {
  let state = seed;
  const next = () => {
    state = (Math.imul(state, 1103515245) + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
  return {
    next,
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T,
  };
}

const STRINGS = [
  "",
  "x",
  "a/b",
  "../../etc/passwd",
  "%00",
  "%",
  "%zz",
  "\u0000",
  "🦄",
  "a".repeat(5000),
  "__proto__",
  "constructor",
  "+",
  "#",
  "$SYS",
  "chorus/acme/#",
  "-1",
  "0",
  "1e309",
  "NaN",
  "null",
  "[]",
  " ",
  "\t\n",
  "00000000-0000-0000-0000-000000000000",
];
const FIELDS = [
  "channel",
  "type",
  "payload",
  "metadata",
  "id",
  "agent",
  "app",
  "env",
  "traceId",
  "spanId",
  "parentSpanId",
  "intentId",
  "occurredAt",
  "events",
  "title",
  "state",
  "status",
  "version",
  "assignedTo",
  "portfolio",
  "ttlSeconds",
  "channels",
  "scopes",
  "clientId",
  "username",
  "password",
  "action",
  "topic",
  "resourceSpans",
  "after",
  "limit",
];
const PATHS = [
  "/v1/events",
  "/v1/intents",
  "/v1/intents/:id",
  "/v1/intents/:id/state",
  "/v1/intents/:id/status",
  "/v1/intents/:id/events",
  "/v1/intents/:id/stream",
  "/v1/channels/:id/stream",
  "/v1/agents/:id/stream",
  "/v1/portfolios/:id/stream",
  "/v1/agents",
  "/v1/realtime/credentials",
  "/v1/tokens",
  "/v1/traces",
  "/v1/mqtt/hooks/emqx/authn",
  "/v1/mqtt/hooks/vernemq",
  "/metrics",
  "/healthz",
  "/readyz",
  "/v1/nothing-here",
];
const QUERY_KEYS = [
  "after",
  "limit",
  "channel",
  "type",
  "agent",
  "env",
  "app",
  "traceId",
  "intentId",
  "token",
];
const METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS", "HEAD"];
const CONTENT_TYPES = [
  "application/json",
  "application/x-protobuf",
  "text/plain",
  "application/json; charset=latin1",
  "multipart/form-data",
];

let hub: Hub;
beforeAll(async () => {
  hub = await startTestHub({ rateLimit: false });
});
afterAll(async () => {
  await hub?.close();
});

describe("hostile input sweep", () => {
  test(`${REQUESTS} seeded hostile requests over every route: no 5xx, every error is the JSON envelope`, async () => {
    const r = random(SEED);
    const value = (): unknown =>
      r.pick<() => unknown>([
        () => null,
        () => true,
        () => -1,
        () => 1e308,
        () => 3.5,
        () => r.pick(STRINGS),
        () => [],
        () => ({}),
        () => [r.pick(STRINGS)],
        () => ({ a: r.pick(STRINGS) }),
        () => JSON.parse('{"__proto__":{"polluted":1}}'),
        () => Array(50).fill(1),
        () => "x".repeat(300_000),
      ])();
    const object = () => {
      const o: Record<string, unknown> = {};
      for (let i = Math.floor(r.next() * 6); i > 0; i--) o[r.pick(FIELDS)] = value();
      return o;
    };
    const body = (): string | Buffer =>
      r.pick<() => string | Buffer>([
        () => JSON.stringify(object()),
        () => JSON.stringify(value()),
        () => "{",
        () => "not json",
        () => "",
        () => JSON.stringify({ events: Array.from({ length: Math.floor(r.next() * 5) }, object) }),
        () => JSON.stringify({ events: Array(1001).fill({ channel: "c", type: "t" }) }),
        () => "[".repeat(10_000),
        () => `{"a":${"[".repeat(300)}${"]".repeat(300)}}`,
        () => Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]),
        () => gzipSync(Buffer.from("{bad")),
        () => Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0]),
        () => gzipSync(Buffer.alloc(20_000_000)),
      ])();

    const failures: string[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      const method = r.pick(METHODS);
      let path = r.pick(PATHS).replace(":id", encodeURIComponent(r.pick(STRINGS)));
      if (r.next() < 0.3) {
        const query = QUERY_KEYS.filter(() => r.next() < 0.3)
          .map((k) => `${k}=${encodeURIComponent(r.pick(STRINGS))}`)
          .join("&");
        path += `?${query}`;
      }
      const headers: Record<string, string> = {};
      if (r.next() < 0.9)
        headers.authorization = r.pick([
          `Bearer ${KEY_A}`,
          `Bearer ${KEY_A}`,
          `Bearer ${KEY_A}`,
          "Bearer key_nobody_0123456789",
          "Basic abc",
          "Bearer ",
        ]);
      const payload = method === "GET" || method === "HEAD" ? undefined : body();
      const contentType = r.pick(CONTENT_TYPES);
      if (payload !== undefined) headers["content-type"] = contentType;
      if (payload !== undefined && r.next() < 0.2)
        headers["content-encoding"] = r.pick(["gzip", "deflate", "br", "identity", "x"]);
      if (r.next() < 0.2)
        headers["last-event-id"] = r
          .pick(STRINGS)
          .replace(/[^\x21-\x7e]/g, "")
          .slice(0, 100);
      if (r.next() < 0.1)
        headers.traceparent = r.pick([
          "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
          "zz",
          "00-00000000000000000000000000000000-0000000000000000-01",
        ]);
      const abort = new AbortController();
      const res = await fetch(`${hub.url}${path}`, {
        method,
        headers,
        body: payload,
        signal: abort.signal,
      });
      const streaming = (res.headers.get("content-type") ?? "").includes("text/event-stream");
      const text = streaming ? "" : await res.text();
      abort.abort();
      const what = `${method} ${path.slice(0, 80)} (${headers["content-type"] ?? "-"}, ${headers["content-encoding"] ?? "-"}) → ${res.status} ${text.slice(0, 120)}`;
      if (res.status >= 500) failures.push(what);
      else if (res.status >= 400 && method !== "HEAD") {
        const protobufOtlp =
          path.startsWith("/v1/traces") &&
          (res.headers.get("content-type") ?? "").startsWith("application/x-protobuf");
        if (!protobufOtlp) {
          let parsed: { error?: { code?: unknown; message?: unknown } } | undefined;
          try {
            parsed = JSON.parse(text);
          } catch {}
          if (typeof parsed?.error?.code !== "string" || typeof parsed.error.message !== "string")
            failures.push(what);
        }
      }
    }
    expect(failures).toEqual([]);
    const health = await fetch(`${hub.url}/healthz`);
    expect(health.status).toBe(200);
  }, 180_000);
});
