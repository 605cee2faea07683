import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// A hub behind TLS, as every deployment beyond one machine is (a proxy in front, or a tunnel).
// The certificate is self-signed (test/fixtures/tls): the client trusts it only through
// NODE_EXTRA_CA_CERTS, which Node reads at start, so each case runs in a child process.
const dist = fileURLToPath(new URL("../dist/index.js", import.meta.url));
const tls = (name: string) => fileURLToPath(new URL(`./fixtures/tls/${name}`, import.meta.url));

interface Seen {
  method: string;
  path: string;
}

function client(url: string, trust: boolean) {
  const script = `
    import { Chorus } from ${JSON.stringify(dist)};
    const chorus = new Chorus({ url: ${JSON.stringify(url)}, apiKey: "key_tls_0123456789",
      channel: "tls", logger: false, failOpen: false, maxRetries: 0 });
    const out = {};
    try {
      out.page = await chorus.events.list({ channel: "tls" });
      out.published = (await chorus.events.publish({ type: "custom" })).ids.length;
    } catch (error) {
      out.error = error.name + ": " + error.message;
    }
    chorus.emit({ type: "custom" });
    out.flushed = await chorus.flush(5000);
    out.sent = chorus.stats().sent;
    await chorus.close(500);
    process.stdout.write(JSON.stringify(out));
  `;
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_EXTRA_CA_CERTS: tls("cert.pem") };
  if (!trust) delete env.NODE_EXTRA_CA_CERTS;
  return new Promise<Record<string, unknown>>((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { env });
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += String(chunk);
    });
    child.on("error", reject);
    child.on("exit", () => {
      try {
        resolve(JSON.parse(out) as Record<string, unknown>);
      } catch {
        reject(new Error(`the client printed ${JSON.stringify(out)}`));
      }
    });
  });
}

describe("a hub behind TLS", () => {
  const seen: Seen[] = [];
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer(
      { key: readFileSync(tls("key.pem")), cert: readFileSync(tls("cert.pem")) },
      (req, res) => {
        let body = "";
        req.on("data", (chunk) => {
          body += chunk;
        });
        req.on("end", () => {
          seen.push({ method: req.method ?? "", path: req.url ?? "" });
          res.writeHead(req.method === "POST" ? 202 : 200, { "content-type": "application/json" });
          if (req.method !== "POST") return void res.end('{"data":[]}');
          // A batch is `{ events }`; `events.publish()` of one event sends the event itself.
          const parsed = JSON.parse(body) as { events?: { id: string }[]; id: string };
          const events = parsed.events ?? [parsed];
          res.end(
            JSON.stringify({
              accepted: events.length,
              duplicates: 0,
              ids: events.map((e) => e.id),
            }),
          );
        });
      },
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("takes awaited calls and batches over https when its certificate is trusted", async () => {
    const out = await client(url, true);
    expect(out).toEqual({ page: { data: [] }, published: 1, flushed: true, sent: 1 });
    expect(seen.map((s) => `${s.method} ${s.path}`)).toEqual([
      "GET /v1/events?channel=tls",
      "POST /v1/events",
      "POST /v1/events",
    ]);
  });

  it("refuses a certificate it does not trust, naming why, and sends nothing", async () => {
    const before = seen.length;
    const out = await client(url, false);
    expect(out.error).toMatch(
      /^ConnectionError: GET \/v1\/events failed: DEPTH_ZERO_SELF_SIGNED_CERT/,
    );
    expect(out.sent).toBe(0);
    expect(seen.length).toBe(before);
  });
});
