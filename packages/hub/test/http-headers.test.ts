import { request } from "node:http";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Hub } from "../src/index.js";
import { api, KEY_A, KEY_B, startTestHub } from "./helpers.js";

/** A request with headers exactly as given: an array value is sent as repeated header lines. */
function send(
  hub: Hub,
  method: string,
  path: string,
  headers: Record<string, string | string[]>,
  body?: string | Uint8Array,
): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(`${hub.url}${path}`), { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined });
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

let hub: Hub;
beforeAll(async () => {
  hub = await startTestHub();
});
afterAll(() => hub?.close());

describe("headers the hub would have to guess at", () => {
  it("two Authorization headers are a 400, whichever comes first (Node would keep the first)", async () => {
    for (const pair of [
      [`Bearer ${KEY_A}`, `Bearer ${KEY_B}`],
      ["Bearer not_a_key_0123456789", `Bearer ${KEY_A}`],
    ]) {
      const res = await send(hub, "GET", "/v1/events", { authorization: pair });
      expect(res.status).toBe(400);
      expect(res.body.error.message).toBe("Authorization header sent more than once");
    }
  });

  it("two Chorus-Agent headers on an intent write are a 400, not an actor named 'alice, mallory'", async () => {
    const created = await api(hub, "/v1/intents", { body: { title: "t" } });
    const res = await send(
      hub,
      "PATCH",
      `/v1/intents/${created.body.id}/state`,
      {
        authorization: `Bearer ${KEY_A}`,
        "content-type": "application/json",
        "chorus-agent": ["alice", "mallory"],
      },
      JSON.stringify({ step: 1 }),
    );
    expect(res.status).toBe(400);
    expect(res.body.error.message).toBe("Chorus-Agent header sent more than once");
    expect((await api(hub, `/v1/intents/${created.body.id}`)).body.version).toBe(1);
    // One header whose value holds a comma is a name like any other.
    const one = await api(hub, `/v1/intents/${created.body.id}/state`, {
      method: "PATCH",
      body: { step: 1 },
      headers: { "chorus-agent": "alice, mallory" },
    });
    expect(one.status).toBe(200);
  });

  it("a header after a thousand others still counts: a stale If-Match is a 409, not an unconditional write", async () => {
    const created = await api(hub, "/v1/intents", { body: { title: "many headers" } });
    const filler: Record<string, string> = {};
    for (let i = 0; i < 1200; i++) filler[`h${i}`] = "a"; // 11 KB: under the size limit
    const res = await send(
      hub,
      "PATCH",
      `/v1/intents/${created.body.id}/state`,
      {
        ...filler,
        authorization: `Bearer ${KEY_A}`,
        "content-type": "application/json",
        "if-match": "0",
      },
      JSON.stringify({ step: 1 }),
    );
    expect(res.status).toBe(409);
    expect((await api(hub, `/v1/intents/${created.body.id}`)).body.version).toBe(1);
  });

  it("a compressed JSON body is a 415 (only /v1/traces takes gzip), labelled or not, and nothing is stored", async () => {
    const event = JSON.stringify({ channel: "enc", type: "t" });
    const headers = {
      authorization: `Bearer ${KEY_A}`,
      "content-type": "application/json",
      "content-encoding": "gzip",
    };
    for (const body of [event, gzipSync(event)]) {
      const res = await send(hub, "POST", "/v1/events", headers, body);
      expect(res.status).toBe(415);
      expect(res.body.error.code).toBe("unsupported_media_type");
      expect(res.body.error.message).toContain("uncompressed");
    }
    expect((await api(hub, "/v1/events?channel=enc")).body.data).toEqual([]);
    const identity = await send(
      hub,
      "POST",
      "/v1/events",
      { ...headers, "content-encoding": "identity" },
      event,
    );
    expect(identity.status).toBe(202);
  });
});
