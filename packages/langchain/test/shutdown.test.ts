import { Chorus } from "@chorus/core";
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { ChorusCallbackHandler } from "../src/index.js";
import { API_KEY } from "./helpers.js";

describe("handler.close() honours the client's drain timeout", () => {
  it("a hanging hub: one wait within drainTimeoutMs, for a client the handler made or was given", async () => {
    // A hub that accepts connections and never answers, and requests that would wait a minute.
    const hanging = createServer((socket) => socket.on("error", () => {}));
    await new Promise<void>((resolve) => hanging.listen(0, "127.0.0.1", resolve));
    const { port } = hanging.address() as { port: number };
    const options = {
      url: `http://127.0.0.1:${port}`,
      apiKey: API_KEY,
      logger: false as const,
      drainOnExit: false,
      timeoutMs: 60_000,
      drainTimeoutMs: 200,
      flushIntervalMs: 60_000,
    };
    try {
      const owning = new ChorusCallbackHandler({ chorus: options, channel: "lc-exit" });
      const given = new Chorus({ ...options, channel: "lc-exit" });
      const borrowing = new ChorusCallbackHandler({ chorus: given });
      owning.chorus.emit({ type: "custom" });
      given.emit({ type: "custom" });
      // Were the core's default 5 s waited, this test would outlive its own timeout; the
      // exit budget the user chose is 200 ms.
      await Promise.all([owning.close(), borrowing.close()]);
      expect(owning.chorus.stats()).toMatchObject({ queued: 0, dropped: 1 }); // closed: aborted
      expect(given.emit({ type: "custom" })).toBeTypeOf("string"); // a given client stays open
      await given.close(100);
    } finally {
      hanging.close();
    }
  }, 4_000);
});
