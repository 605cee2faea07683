import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { hubBaseUrl, type ResolvedOptions, resolveOptions } from "../src/options.js";

describe("options", () => {
  it("reads every numeric option from the variable the README's table names", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const rows = [...readme.matchAll(/^\| `(\w+)` +\| `(CHORUS_\w+)` +\| `(\d+)`/gm)];
    expect(rows.length).toBeGreaterThanOrEqual(15);
    for (const [, option, variable, fallback] of rows) {
      const key = option as keyof ResolvedOptions;
      expect(resolveOptions({}, {}).options[key], option).toBe(Number(fallback));
      const { options, problems } = resolveOptions({}, { [variable as string]: "20000" });
      expect(problems, variable).toEqual([]);
      // Two options cap what they take: 1000 events per batch, 20 retries.
      const cap = { maxBatchSize: 1000, maxRetries: 20 }[key as string] ?? 20000;
      expect(options[key], variable).toBe(cap);
    }
  });

  it("reads every option from CHORUS_* variables, explicit options winning", () => {
    const { options, problems } = resolveOptions(
      { channel: "explicit" },
      {
        CHORUS_URL: "http://hub.example:9000/",
        CHORUS_API_KEY: "k",
        CHORUS_CHANNEL: "from-env",
        CHORUS_ENV: "prod",
        CHORUS_APP: "app",
        CHORUS_AGENT: "agent",
        CHORUS_FAIL_OPEN: "false",
        CHORUS_CAPTURE: "metadata",
        CHORUS_TIMEOUT_MS: "1500",
        CHORUS_MAX_BATCH_SIZE: "5000",
        CHORUS_MAX_QUEUE_SIZE: "42",
        CHORUS_FLUSH_INTERVAL_MS: "250",
        CHORUS_REALTIME_TRANSPORT: "ws",
      },
    );
    expect(problems).toEqual([]);
    expect(options).toMatchObject({
      url: "http://hub.example:9000",
      apiKey: "k",
      channel: "explicit",
      env: "prod",
      app: "app",
      agent: "agent",
      failOpen: false,
      capture: "metadata",
      timeoutMs: 1500,
      maxBatchSize: 1000, // capped at the protocol's batch limit
      maxQueueSize: 42,
      flushIntervalMs: 250,
      realtimeTransport: "ws",
    });
  });

  it("never throws on bad values: defaults are used and the problem reported", () => {
    const { options, problems } = resolveOptions(
      {},
      { CHORUS_URL: "not a url", CHORUS_TIMEOUT_MS: "soon", CHORUS_FAIL_OPEN: "maybe" },
    );
    expect(options.url).toBe("http://127.0.0.1:7420");
    expect(options.timeoutMs).toBe(10_000);
    expect(options.failOpen).toBe(true);
    expect(problems).toHaveLength(3);
  });

  it("strips a trailing /v1 from the URL and refuses one without a scheme", () => {
    expect(hubBaseUrl("http://127.0.0.1:7420/v1")).toBe("http://127.0.0.1:7420");
    expect(hubBaseUrl("https://hub.example/chorus/v1/")).toBe("https://hub.example/chorus");
    expect(hubBaseUrl("http://hub.example/v10")).toBe("http://hub.example/v10");
    expect(hubBaseUrl("127.0.0.1:7420")).toBeUndefined();
    expect(hubBaseUrl("localhost:7420")).toBeUndefined();
    expect(resolveOptions({ url: "http://h:1/v1" }, {}).options.url).toBe("http://h:1");
  });
});
