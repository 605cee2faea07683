// A counting HTTP sink for the benchmarks, run in its own process so that what a client spends
// delivering is billed to the client and nothing the receiver does is. Answers the hub's event
// route (`POST /v1/events`, JSON) and an OTLP/HTTP collector's (`POST /v1/traces`, protobuf or
// JSON) and any other POST (another product's ingest, e.g. PostHog's /batch/) with 2xx; counts requests, bytes and items (events, and spans of JSON exports), and
// records each item's delay from its own timestamp (`occurredAt`, a span's end) to arrival.
// `GET /stats` returns the counts, `POST /reset` zeroes them. Prints `{"port":N}` when listening.
import { createServer } from "node:http";

const fresh = () => ({ requests: 0, bytes: 0, items: 0, latencies: [] });
let stats = { events: fresh(), traces: fresh(), other: fresh() };

const server = createServer((req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    const now = Date.now();
    if (req.url === "/stats") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(stats));
      return;
    }
    if (req.url === "/reset") {
      stats = { events: fresh(), traces: fresh(), other: fresh() };
      res.end("{}");
      return;
    }
    if (req.method === "POST" && req.url?.startsWith("/v1/events")) {
      stats.events.requests++;
      stats.events.bytes += body.length;
      try {
        for (const event of JSON.parse(body.toString()).events ?? []) {
          stats.events.items++;
          stats.events.latencies.push(now - Date.parse(event.occurredAt));
        }
      } catch {}
      res.writeHead(202, { "content-type": "application/json" });
      res.end('{"accepted":0,"duplicates":0,"ids":[]}');
      return;
    }
    if (req.method === "POST" && req.url?.startsWith("/v1/traces")) {
      stats.traces.requests++;
      stats.traces.bytes += body.length;
      const type = req.headers["content-type"] ?? "application/x-protobuf";
      if (type.includes("json")) {
        try {
          const parsed = JSON.parse(body.toString());
          // The OpenAI Agents SDK's exporter (OpenAITracingExporter) posts `{ data: [...] }`:
          // traces and spans, counted as items (no end time to take a latency from).
          if (Array.isArray(parsed.data)) stats.traces.items += parsed.data.length;
          for (const rs of parsed.resourceSpans ?? [])
            for (const ss of rs.scopeSpans ?? [])
              for (const span of ss.spans ?? []) {
                stats.traces.items++;
                stats.traces.latencies.push(now - Number(BigInt(span.endTimeUnixNano) / 1000000n));
              }
        } catch {}
      }
      res.writeHead(200, { "content-type": type });
      res.end(type.includes("json") ? "{}" : "");
      return;
    }
    if (req.method === "POST") {
      // Any other product's ingest route (PostHog's /batch/, ...): accept and count.
      stats.other.requests++;
      stats.other.bytes += body.length;
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"status":1}');
      return;
    }
    res.writeHead(404);
    res.end();
  });
});
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
process.on("SIGTERM", () => process.exit(0));
