import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";

// Proves what ships: the built dist loads through both module systems and starts a hub.
describe("built dist", () => {
  it("loads with require() and serves /healthz", async () => {
    const require = createRequire(import.meta.url);
    const { createHub } = require("@chorus/hub") as typeof import("../src/index.js");
    const hub = await createHub({ port: 0, mqttPort: false, db: ":memory:", logger: false });
    try {
      expect((await fetch(`${hub.url}/healthz`)).status).toBe(200);
    } finally {
      await hub.close();
    }
  });
  it("loads with import()", async () => {
    const mod = await import("@chorus/hub");
    expect(typeof mod.createHub).toBe("function");
    expect(mod.parseDuration("7d")).toBe(7 * 86_400_000);
  });
  // The OTLP decoder reads the vendored .proto files from the package's proto/ folder.
  it("decodes OTLP protobuf from both builds", async () => {
    const require = createRequire(import.meta.url);
    const cjs = require("@chorus/hub") as typeof import("../src/index.js");
    const esm = await import("@chorus/hub");
    for (const { encodeOtlpTraceResponse, decodeOtlpTraceResponse, decodeOtlpTraces } of [
      cjs,
      esm,
    ]) {
      const partial = { partialSuccess: { rejectedSpans: 1 } };
      const bytes = encodeOtlpTraceResponse(partial, "protobuf");
      expect(decodeOtlpTraceResponse(bytes, "protobuf")).toEqual(partial);
      expect(decodeOtlpTraces(new Uint8Array(), "application/x-protobuf")).toEqual([]);
    }
  });
});
