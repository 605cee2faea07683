import { MAX_EVENT_BYTES, MAX_PAGE_BYTES } from "@chorus/protocol";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Hub } from "../src/index.js";
import { api, startTestHub } from "./helpers.js";

const KiB = 1024;
const text = (bytes: number) => "x".repeat(bytes);

let hub: Hub;
beforeAll(async () => {
  hub = await startTestHub();
});
afterAll(async () => {
  await hub?.close();
});

/** Every page of a list route from the start, following `next`; with each page's body size. */
async function allPages(path: string, cursor: "after" = "after") {
  const pages: { bytes: number; data: any[] }[] = [];
  let next: unknown;
  do {
    const sep = path.includes("?") ? "&" : "?";
    const url = next === undefined ? path : `${path}${sep}${cursor}=${next}`;
    const res = await fetch(`${hub.url}${url}`, {
      headers: { authorization: "Bearer key_acme_0123456789" },
    });
    expect(res.status).toBe(200);
    const body = await res.text();
    const parsed = JSON.parse(body);
    pages.push({ bytes: Buffer.byteLength(body), data: parsed.data });
    next = parsed.next;
  } while (next !== undefined);
  return pages;
}

/** A page may pass the budget by the one row that crosses it, plus the JSON around rows. */
const PAGE_BOUND = MAX_PAGE_BYTES + MAX_EVENT_BYTES + 64 * KiB;

describe("intent log events stay within the per-event limit", () => {
  test("a patch whose intent.state_changed event would pass the limit is a 413 and stores nothing", async () => {
    const created = await api(hub, "/v1/intents", {
      body: { id: "big-state", title: "t", state: { a: text(100 * KiB) } },
    });
    expect(created.status).toBe(201);
    const logBefore = await api(hub, "/v1/intents/big-state/events");

    // State 200 KiB, patch 100 KiB: the event carries both, 300 KiB.
    const refused = await api(hub, "/v1/intents/big-state/state", {
      method: "PATCH",
      body: { b: text(100 * KiB) },
    });
    expect(refused.status).toBe(413);
    expect(refused.body.error.code).toBe("payload_too_large");
    expect(refused.body.error.details.limit).toBe(MAX_EVENT_BYTES);
    expect(refused.body.error.details.bytes).toBeGreaterThan(MAX_EVENT_BYTES);

    const after = await api(hub, "/v1/intents/big-state");
    expect(after.body.version).toBe(1);
    expect(Object.keys(after.body.state)).toEqual(["a"]);
    expect((await api(hub, "/v1/intents/big-state/events")).body).toEqual(logBefore.body);

    // A smaller patch still fits, and its stored event is within the limit.
    const ok = await api(hub, "/v1/intents/big-state/state", {
      method: "PATCH",
      body: { b: text(40 * KiB) },
    });
    expect(ok.status).toBe(200);
    const log = await api(hub, "/v1/intents/big-state/events?type=intent.state_changed");
    expect(Buffer.byteLength(JSON.stringify(log.body.data[0]))).toBeLessThanOrEqual(
      MAX_EVENT_BYTES + 1024,
    );
  });

  test("a create whose intent.created event would pass the limit is a 413 and stores nothing", async () => {
    const refused = await api(hub, "/v1/intents", {
      body: { id: "too-big", title: "t", state: { a: text(300 * KiB) } },
    });
    expect(refused.status).toBe(413);
    expect(refused.body.error.details.limit).toBe(MAX_EVENT_BYTES);
    expect((await api(hub, "/v1/intents/too-big")).status).toBe(404);
  });
});

// Each test writes about 6 MiB through the API: slow on a busy machine, never timed.
describe("list pages are bounded in bytes and lose nothing", { timeout: 180_000 }, () => {
  test("GET /v1/events?limit=1000 of large events", async () => {
    const count = 30; // 30 × 200 KiB: about 6 MiB in all
    for (let i = 0; i < count; i++) {
      const res = await api(hub, "/v1/events", {
        body: { id: `big-${i}`, channel: "big", type: "t", payload: { blob: text(200 * KiB) } },
      });
      expect(res.status).toBe(202);
    }
    const pages = await allPages("/v1/events?channel=big&limit=1000");
    expect(pages.length).toBeGreaterThan(1);
    for (const page of pages) expect(page.bytes).toBeLessThan(PAGE_BOUND);
    expect(pages.flatMap((p) => p.data.map((e) => e.id))).toEqual(
      Array.from({ length: count }, (_, i) => `big-${i}`),
    );
  });

  test("GET /v1/intents/:id/events?limit=1000 of a large intent log", async () => {
    expect((await api(hub, "/v1/intents", { body: { id: "chatty", title: "t" } })).status).toBe(
      201,
    );
    const count = 30;
    for (let i = 0; i < count; i++) {
      // Each event carries the 100 KiB state and the patch that set it.
      const res = await api(hub, "/v1/intents/chatty/state", {
        method: "PATCH",
        body: { s: `${i}${text(100 * KiB)}` },
      });
      expect(res.status).toBe(200);
    }
    const pages = await allPages("/v1/intents/chatty/events?limit=1000");
    expect(pages.length).toBeGreaterThan(1);
    for (const page of pages) expect(page.bytes).toBeLessThan(PAGE_BOUND);
    const versions = pages.flatMap((p) =>
      p.data.filter((e) => e.type === "intent.state_changed").map((e) => e.payload.version),
    );
    expect(versions).toEqual(Array.from({ length: count }, (_, i) => i + 2));
  });

  test("GET /v1/intents?limit=1000 of intents with large state", async () => {
    const count = 30;
    for (let i = 0; i < count; i++) {
      const res = await api(hub, "/v1/intents", {
        body: { id: `heavy-${i}`, title: "t", portfolio: "heavy", state: { s: text(200 * KiB) } },
      });
      expect(res.status).toBe(201);
    }
    const pages = await allPages("/v1/intents?portfolio=heavy&limit=1000");
    expect(pages.length).toBeGreaterThan(1);
    for (const page of pages) expect(page.bytes).toBeLessThan(PAGE_BOUND);
    expect(pages.flatMap((p) => p.data.map((i) => i.id))).toEqual(
      Array.from({ length: count }, (_, i) => `heavy-${i}`),
    );
  });
});
