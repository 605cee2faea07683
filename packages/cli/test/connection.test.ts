import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/index.js";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l), color: false },
    out,
    err,
  };
}

/** A web server that is not a hub: every path is an HTML 404 (or a 200 page). */
let server: Server;
let url: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    res.writeHead(req.url?.startsWith("/ok") ? 200 : 404, { "content-type": "text/html" });
    res.end("<html><body>Not Found</body></html>");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe("chorus --version", () => {
  it("prints the package's version and exits 0", async () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, "../package.json"), "utf8"));
    for (const flag of ["--version", "-v"]) {
      const c = capture();
      expect(await main([flag], c.io)).toBe(0);
      expect(c.out).toEqual([pkg.version]);
    }
  });
});

describe("where the hub is", () => {
  it("refuses a --url or CHORUS_URL without a scheme with exit 2 instead of using the default", async () => {
    const c = capture();
    expect(await main(["intents", "list", "--url", "127.0.0.1:7531", "--key", "k"], c.io)).toBe(2);
    expect(c.err.join("\n")).toMatch(
      /--url "127\.0\.0\.1:7531" is not an http\(s\) URL; did you mean http:\/\/127\.0\.0\.1:7531\?/,
    );
    // Several hubs are comma-separated: the one without a scheme is named.
    const list = capture();
    const hubs = "http://127.0.0.1:7531,127.0.0.1:7532";
    expect(await main(["intents", "list", "--url", hubs, "--key", "k"], list.io)).toBe(2);
    expect(list.err.join("\n")).toMatch(/--url "127\.0\.0\.1:7532" is not an http\(s\) URL/);
    const saved = process.env.CHORUS_URL;
    process.env.CHORUS_URL = "localhost:7420";
    try {
      const e = capture();
      expect(await main(["emit", "-c", "x", "-t", "custom", "--key", "k"], e.io)).toBe(2);
      expect(e.err.join("\n")).toMatch(/CHORUS_URL "localhost:7420" is not an http\(s\) URL/);
    } finally {
      if (saved === undefined) delete process.env.CHORUS_URL;
      else process.env.CHORUS_URL = saved;
    }
  });

  it("answers 3 for a server that is not a hub", async () => {
    for (const argv of [
      ["intents", "list"],
      ["intents", "show", "some-id"],
      ["emit", "-c", "x", "-t", "custom"],
    ]) {
      const c = capture();
      expect(
        await main([...argv, "--url", url, "--key", "key_0123456789abcdef"], c.io),
        argv.join(" "),
      ).toBe(3);
      expect(c.err.join("\n")).toContain(`the server at ${url} is not a Chorus hub`);
    }
  });

  it("answers 3 for a server whose 200 is not the hub's JSON", async () => {
    for (const argv of [
      ["intents", "list"],
      ["intents", "show", "some-id"],
    ]) {
      const c = capture();
      const page = `${url}/ok`; // every path under it answers a 200 HTML page
      expect(
        await main([...argv, "--url", page, "--key", "key_0123456789abcdef"], c.io),
        argv.join(" "),
      ).toBe(3);
      expect(c.err.join("\n")).toMatch(/answered 200 with a body that is not/);
    }
  });
});

describe("chorus tail against a server that sends events of the wrong shape", () => {
  it("prints a line for each, with ? for what is missing, and exits 0 after --count", async () => {
    const sse = createServer((req, res) => {
      if (!req.url?.includes("/stream")) {
        res.writeHead(200, { "content-type": "application/json" }).end('{"data":[]}');
        return;
      }
      res.writeHead(200, { "content-type": "text/event-stream" });
      for (const data of [
        '{"seq":1}',
        '{"seq":2,"type":5,"payload":"x","agent":{},"channel":[]}',
        '{"seq":3,"type":"tool.end","payload":null,"occurredAt":7,"metadata":7}',
      ])
        res.write(`event: custom\ndata: ${data}\n\n`);
    });
    await new Promise<void>((resolve) => sse.listen(0, "127.0.0.1", resolve));
    const sseUrl = `http://127.0.0.1:${(sse.address() as AddressInfo).port}`;
    try {
      const c = capture();
      const argv = ["tail", "-c", "c", "--count", "3", "--url", sseUrl];
      expect(await main([...argv, "--key", "key_0123456789abcdef"], c.io), c.err.join("\n")).toBe(
        0,
      );
      expect(c.out).toHaveLength(3);
      expect(c.out[0]).toMatch(/#1 +\? /);
      expect(c.out[1]).toMatch(/#2 +\? +- /);
      expect(c.out[2]).toMatch(/#3 +tool\.end/);
    } finally {
      sse.closeAllConnections();
      await new Promise((resolve) => sse.close(resolve));
    }
  });
});
