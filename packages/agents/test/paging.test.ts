import { afterEach, describe, expect, it } from "vitest";
import { type Chorus, ConnectionError } from "@chorus/core";
import { defineAgent } from "../src/index.js";
import { whileUnavailable } from "../src/hub-calls.js";
import { intentBefore } from "../src/intent-log.js";
import { cleanUp, client, listen, start } from "./helpers.js";

/**
 * The runner's catch-up pages through the intents it holds. A hub (or something in front of it)
 * that answers the same page and cursor again must not keep it paging for ever: it used to,
 * past the start-up deadline and after start() had failed, appending the same intents each time.
 */

const AGENT = "pager";

async function loopingHub(): Promise<{ url: string; lists: () => number; close(): Promise<void> }> {
  let lists = 0;
  const server = await listen((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (/^\/v1\/agents\/[^/]+\/stream$/.test(url.pathname)) {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(`id: 0\nevent: chorus.ready\ndata: {"epoch":"loop"}\n\n`);
      return;
    }
    if (url.pathname === "/v1/intents") {
      lists++;
      const intent = {
        id: "in_1",
        title: "t",
        status: "active",
        assignees: [AGENT],
        state: {},
        version: 1,
        createdAt: "2026-01-01T00:00:00.000Z",
        updatedAt: "2026-01-01T00:00:00.000Z",
      };
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ data: [intent], next: "c1" }));
      return;
    }
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { code: "not_found", message: "no" } }));
  });
  return { ...server, lists: () => lists };
}

describe("catch-up against a hub whose cursor does not move", () => {
  afterEach(cleanUp);

  it("fails start-up at its deadline and stops paging", async () => {
    const hub = await loopingHub();
    try {
      const agent = defineAgent({ id: AGENT, handlers: { onAssignment: () => {} } });
      const chorus = client(hub.url);
      await expect(start(agent, { chorus, startupTimeoutMs: 1000 })).rejects.toBeDefined();
      const after = hub.lists();
      await new Promise((resolve) => setTimeout(resolve, 500));
      // Nothing pages on behind the failed start.
      expect(hub.lists()).toBe(after);
    } finally {
      await hub.close();
    }
  });
});

describe("reading an intent's log from a hub whose cursor does not move", () => {
  it("stops with a ConnectionError instead of reading the same page for ever", async () => {
    let calls = 0;
    const page = {
      data: [{ seq: 1, type: "intent.comment", intentId: "in_1", payload: {}, metadata: {} }],
      next: 1,
    };
    const chorus = {
      strict: {
        intents: {
          events: async () => {
            if (++calls > 50) throw new Error("still paging after 50 pages");
            return page;
          },
        },
      },
    } as unknown as Chorus;
    await expect(intentBefore(chorus, "in_1", 100, AGENT)).rejects.toMatchObject({
      name: "ConnectionError",
      message: expect.stringContaining("did not move past seq 1"),
    });
    expect(calls).toBe(2);
  });
});

describe("retrying while the hub is unavailable", () => {
  it("backs off even when Retry-After asks for no wait (a proxy's 503 with Retry-After: 0)", async () => {
    let attempts = 0;
    const signal = AbortSignal.timeout(500);
    await expect(
      whileUnavailable(async () => {
        attempts++;
        throw new ConnectionError("503", { reason: "unavailable", status: 503, retryAfterMs: 0 });
      }, signal),
    ).rejects.toBeDefined();
    // Backoff from 200 ms (jittered down to 100): a handful of attempts in half a second, where
    // Retry-After 0 taken as the wait made thousands.
    expect(attempts).toBeGreaterThan(1);
    expect(attempts).toBeLessThan(20);
  });
});
