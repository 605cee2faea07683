import { createServer, type Server } from "node:http";
import { gunzipSync } from "node:zlib";
import { decodeOtlpTraces, encodeOtlpTraceResponse, otlpFormatOf } from "@chorus/hub";
import type { OtelSpan } from "@chorus/protocol";

/**
 * A local OTLP/HTTP collector: `POST /v1/traces`, protobuf or JSON (gzip too), decoded with the
 * official opentelemetry-proto definitions (`decodeOtlpTraces` from `@chorus/hub`), answered with
 * an `ExportTraceServiceResponse` in the request's encoding. Keeps every span it received.
 */
export interface OtlpReceiver {
  url: string;
  spans: OtelSpan[];
  requests: number;
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const state = { spans: [] as OtelSpan[], requests: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      let body = Buffer.concat(chunks);
      if (req.headers["content-encoding"] === "gzip") body = gunzipSync(body);
      const format = otlpFormatOf(req.headers["content-type"]);
      if (req.method !== "POST" || req.url !== "/v1/traces" || !format) {
        res.writeHead(404).end();
        return;
      }
      try {
        state.spans.push(...decodeOtlpTraces(new Uint8Array(body), format));
        state.requests++;
        res.writeHead(200, {
          "content-type": format === "json" ? "application/json" : "application/x-protobuf",
        });
        res.end(encodeOtlpTraceResponse({}, format));
      } catch (error) {
        res.writeHead(400, { "content-type": "text/plain" }).end(String(error));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    get spans() {
      return state.spans;
    },
    get requests() {
      return state.requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
