import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCorsOrigins } from "../src/config.js";
import type { Hub } from "../src/index.js";
import { api, startTestHub } from "./helpers.js";

const LISTED = "https://app.example.com";
const ALSO_LISTED = "http://localhost:5173";
const UNLISTED = "https://evil.example.net";

function preflight(
  hub: Hub,
  path: string,
  origin: string,
  method = "GET",
  headers = "authorization",
) {
  return fetch(`${hub.url}${path}`, {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": method,
      "access-control-request-headers": headers,
    },
  });
}

describe("CORS for the origins in CHORUS_CORS_ORIGINS", () => {
  let hub: Hub;
  beforeAll(async () => {
    hub = await startTestHub({ corsOrigins: `${LISTED}, ${ALSO_LISTED}` });
  });
  afterAll(() => hub.close());

  it("grants a listed origin's preflight the methods and headers a page needs", async () => {
    const res = await preflight(
      hub,
      "/v1/intents/i1/state",
      LISTED,
      "PATCH",
      "authorization,content-type,if-match,chorus-agent,idempotency-key",
    );
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(LISTED);
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
    const methods = res.headers.get("access-control-allow-methods")?.split(/,\s*/);
    expect(methods).toEqual(expect.arrayContaining(["GET", "POST", "PATCH", "DELETE"]));
    const allowed = res.headers.get("access-control-allow-headers")?.toLowerCase().split(/,\s*/);
    expect(allowed).toEqual(
      expect.arrayContaining([
        "authorization",
        "content-type",
        "last-event-id",
        "if-match",
        "chorus-agent",
        "idempotency-key",
      ]),
    );
    expect(res.headers.get("access-control-max-age")).toBe("600");
    expect(res.headers.get("vary")?.toLowerCase()).toContain("origin");
  });

  it("gives a listed origin's actual answers, errors included, the headers a page reads", async () => {
    for (const origin of [LISTED, ALSO_LISTED]) {
      const ok = await api(hub, "/v1/events", { headers: { origin } });
      expect(ok.status).toBe(200);
      expect(ok.headers.get("access-control-allow-origin")).toBe(origin);
      expect(ok.headers.get("access-control-expose-headers")?.split(/,\s*/)).toEqual(
        expect.arrayContaining([
          "retry-after",
          "etag",
          "x-request-id",
          "date",
          "idempotent-replayed",
        ]),
      );
    }
    const refused = await api(hub, "/v1/events", { key: null, headers: { origin: LISTED } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("access-control-allow-origin")).toBe(LISTED);
  });

  it("gives an SSE stream the headers too", async () => {
    const controller = new AbortController();
    const res = await fetch(`${hub.url}/v1/channels/c/stream`, {
      headers: { origin: LISTED, authorization: "Bearer key_acme_0123456789" },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe(LISTED);
    controller.abort();
  });

  it("gives an unlisted origin no CORS headers, on preflights and answers", async () => {
    const res = await preflight(hub, "/v1/events", UNLISTED);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_found");
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect(res.headers.get("access-control-allow-methods")).toBeNull();
    const actual = await api(hub, "/v1/events", { headers: { origin: UNLISTED } });
    expect(actual.status).toBe(200);
    expect(actual.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("without CHORUS_CORS_ORIGINS", () => {
  it("sends no CORS headers to any origin", async () => {
    const hub = await startTestHub();
    try {
      const res = await preflight(hub, "/v1/events", LISTED);
      expect(res.status).toBe(404);
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
      const actual = await api(hub, "/v1/events", { headers: { origin: LISTED } });
      expect(actual.headers.get("access-control-allow-origin")).toBeNull();
    } finally {
      await hub.close();
    }
  });
});

describe("parseCorsOrigins", () => {
  it("takes origins exactly as a browser sends them and refuses anything else", () => {
    expect(parseCorsOrigins(" https://a.example.com ,http://localhost:3000,")).toEqual([
      "https://a.example.com",
      "http://localhost:3000",
    ]);
    expect(parseCorsOrigins("")).toEqual([]);
    expect(() => parseCorsOrigins("https://a.example.com/")).toThrow(
      "did you mean https://a.example.com",
    );
    expect(() => parseCorsOrigins("*")).toThrow("not an origin");
    expect(() => parseCorsOrigins("a.example.com")).toThrow("not an origin");
    expect(() => parseCorsOrigins("ftp://a.example.com")).toThrow("not an origin");
  });
});
