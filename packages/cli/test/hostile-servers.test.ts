import { createServer as createHttpServer } from "node:http";
import { type AddressInfo, createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./cli-process.js";

/*
 * Servers at CHORUS_URL that are not a working hub, run against the built `chorus` process:
 * what a user sees is the exit code and stderr of the process, so that is what is asserted.
 */

const KEY = "key_0123456789abcdef";
/** One short try per request, so a request that is never answered ends quickly. */
const QUICK = { CHORUS_TIMEOUT_MS: "1000", CHORUS_MAX_RETRIES: "0" };

function listen(server: Server | ReturnType<typeof createHttpServer>): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );
}

describe("a server that accepts the connection and closes it at once", () => {
  // What `kubectl port-forward` or a proxy with no backend does. Node 20's fetch can leave such
  // a request pending with nothing holding the event loop: the process used to exit 0 silently.
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer((socket) => socket.destroy());
    url = await listen(server);
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it.each([
    [["intents", "list"]],
    [["intents", "show", "some-id"]],
    [["tail", "-c", "research"]],
    [["emit", "-c", "research", "-t", "custom"]],
  ])("chorus %j exits 3 naming the URL, never 0 with nothing printed", async (args) => {
    const result = await runCli([...args, "--url", url, "--key", KEY], QUICK);
    expect(result.code, result.stderr).toBe(3);
    expect(result.stderr).toContain(`cannot reach the hub at ${url}`);
    expect(result.stdout).toBe("");
  });
});

describe("a server that answers 200 with some other JSON", () => {
  let server: ReturnType<typeof createHttpServer>;
  let url: string;
  beforeAll(async () => {
    server = createHttpServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" }).end('{"weird":true}');
    });
    url = await listen(server);
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it("chorus emit is exit 3 (not a working hub), not a TypeError with exit 1", async () => {
    for (const json of [[], ["--json"]]) {
      const result = await runCli(
        ["emit", "-c", "research", "-t", "custom", ...json, "--url", url, "--key", KEY],
        QUICK,
      );
      expect(result.code, result.stderr).toBe(3);
      expect(result.stderr).toContain(`the hub at ${url} is not serving`);
      expect(result.stderr).not.toMatch(/not iterable/);
      expect(result.stdout).toBe("");
    }
  });
});
