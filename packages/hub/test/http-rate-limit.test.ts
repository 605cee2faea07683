import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseRateLimit } from "../src/config.js";
import type { Hub } from "../src/index.js";
import { api, KEY_A_READONLY, KEY_B, startTestHub } from "./helpers.js";

describe("rate limit", () => {
  let hub: Hub;
  beforeAll(async () => {
    hub = await startTestHub({ rateLimit: "5/m" });
  });
  afterAll(async () => {
    await hub.close();
  });

  it("answers 429 rate_limited with Retry-After past the limit, per key", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await api(hub, "/v1/events?limit=1")).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    const refused = await api(hub, "/v1/events", { body: { channel: "c", type: "custom" } });
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({ code: "rate_limited", details: { limit: 5 } });
    expect(refused.body.error.requestId).toEqual(expect.any(String));
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    // Another key has its own budget; keyless routes are not counted.
    expect((await api(hub, "/v1/events?limit=1", { key: KEY_B })).status).toBe(200);
    expect((await api(hub, "/healthz", { key: null })).status).toBe(200);
    // Nothing was stored by the refused request (read through another key of the same org).
    const stored = await api(hub, "/v1/events?channel=c", { key: KEY_A_READONLY });
    expect(stored.status).toBe(200);
    expect(stored.body.data).toEqual([]);
  });

  it("parses limits and refuses nonsense", () => {
    expect(parseRateLimit("600/s")).toEqual({ max: 600, windowMs: 1000 });
    expect(parseRateLimit("60000/m")).toEqual({ max: 60000, windowMs: 60000 });
    expect(parseRateLimit("off")).toBeUndefined();
    expect(() => parseRateLimit("fast")).toThrow(/invalid rate limit/);
    expect(() => parseRateLimit("0/s")).toThrow(/invalid rate limit/);
  });
});
