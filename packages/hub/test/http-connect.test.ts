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

/** An answer's status line and parsed JSON body (chunked bodies are de-chunked). */
function parse(answer: string): { status: number; head: string; body: any } {
  const at = answer.indexOf("\r\n\r\n");
  const head = answer.slice(0, at);
  let body = answer.slice(at + 4);
  if (/transfer-encoding: chunked/i.test(head)) {
    let out = "";
    for (let rest = body; ; ) {
      const eol = rest.indexOf("\r\n");
      const size = Number.parseInt(rest.slice(0, eol), 16);
      if (!size) break;
      out += rest.slice(eol + 2, eol + 2 + size);
      rest = rest.slice(eol + 2 + size + 2);
    }
    body = out;
  }
  return { status: Number(head.split(" ")[1]), head, body: body ? JSON.parse(body) : undefined };
}

describe("requests Node would answer before fastify sees them", () => {
  test("an offer to upgrade to h2c (curl --http2) is served as the plain HTTP/1.1 request it is", async () => {
    const offer =
      "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n";
    const health = parse(await raw(`GET /healthz HTTP/1.1\r\nHost: x\r\n${offer}\r\n`));
    expect(health.status).toBe(200);
    const unknown = parse(await raw(`GET /nowhere HTTP/1.1\r\nHost: x\r\n${offer}\r\n`));
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("not_found");
    // Node has already thrown a body away by then: a request with one is told what to do.
    const post = parse(
      await raw(
        `POST /v1/events HTTP/1.1\r\nHost: x\r\n${offer}Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`,
      ),
    );
    expect(post.status).toBe(400);
    expect(post.body.error.message).toMatch(/without an Upgrade header/);
    expect((await api(hub, "/healthz", { key: null })).status).toBe(200);
  });

  test("an HTTP/1.1 request without Host and an unknown Expect get the JSON envelope", async () => {
    const noHost = parse(await raw("GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n"));
    expect(noHost.status).toBe(400);
    expect(noHost.body.error.message).toMatch(/Host header/);
    // HTTP/1.0 has no Host requirement.
    expect(parse(await raw("GET /healthz HTTP/1.0\r\n\r\n")).status).toBe(200);
    const expectation = parse(
      await raw("GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\nConnection: close\r\n\r\n"),
    );
    expect(expectation.status).toBe(417);
    expect(expectation.body.error.message).toMatch(/Expect: teapot/);
  });
});
