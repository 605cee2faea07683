import { Chorus } from "@chorus/core";
import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { ChorusSpanProcessor } from "../src/index.js";

describe("the provider's shutdown honours the client's drain timeout", () => {
  it("a hanging hub: shutdown() waits the client's drainTimeoutMs, not its request timeout", async () => {
    // A hub that accepts connections and never answers, and requests that would wait a minute.
    const hanging = createServer((socket) => socket.on("error", () => {}));
    await new Promise<void>((resolve) => hanging.listen(0, "127.0.0.1", resolve));
    const { port } = hanging.address() as { port: number };
    const chorus = new Chorus({
      url: `http://127.0.0.1:${port}`,
      apiKey: "key_acme_0123456789",
      channel: "otel-exit",
      logger: false,
      drainOnExit: false,
      timeoutMs: 60_000,
      drainTimeoutMs: 200,
      flushIntervalMs: 60_000,
    });
    try {
      const provider = new BasicTracerProvider({
        spanProcessors: [new ChorusSpanProcessor({ chorus, logger: false })],
      });
      chorus.emit({ type: "custom" });
      // Were the request's minute (or a flush's default 5 s) waited, this test would outlive its
      // own timeout; the exit budget the user chose is 200 ms.
      await provider.shutdown();
      expect(chorus.stats().queued).toBe(1); // in flight, unanswered: still the client's
    } finally {
      await chorus.close(100);
      hanging.close();
    }
  }, 3_000);
});
