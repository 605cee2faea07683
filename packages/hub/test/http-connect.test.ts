import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Hub } from "../src/index.js";
import { api, startTestHub } from "./helpers.js";

let hub: Hub;
beforeAll(async () => {
  hub = await startTestHub();
});
afterAll(async () => {
  await hub?.close();
});

/** Send raw bytes on a fresh socket and read everything until the server closes it. */
function raw(request: string): Promise<string> {
  const { hostname, port } = new URL(hub.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(request));
    const chunks: Buffer[] = [];
    socket.on("data", (chunk) => chunks.push(chunk));
    socket.on("error", reject);
    socket.on("close", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
}

describe("CONNECT requests", () => {
  test("get a JSON 400 instead of a dropped socket, and the hub keeps serving", async () => {
    for (const target of ["example.com:443", "127.0.0.1:7420", "/v1/events"]) {
      const answer = await raw(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
      const [head = "", body = ""] = answer.split("\r\n\r\n");
      expect(head).toMatch(/^HTTP\/1\.1 400 /);
      expect(head.toLowerCase()).toContain("content-type: application/json");
      const parsed = JSON.parse(body);
      expect(parsed.error.code).toBe("validation_failed");
      expect(parsed.error.message).toContain("CONNECT");
    }
    expect((await api(hub, "/healthz", { key: null })).status).toBe(200);
  });
});
