import { describe, expect, it } from "vitest";
import { createHub } from "../src/hub.js";
import { createLogger, redactUrl } from "../src/logger.js";

const KEY = "key_logger_0123456789";

describe("the hub's log", () => {
  it("never carries an Authorization header or an access_token query value", async () => {
    const lines: string[] = [];
    const logger = createLogger("debug", { write: (line: string) => void lines.push(line) });
    const hub = await createHub({
      port: 0,
      mqttPort: false,
      db: ":memory:",
      apiKeys: `acme:${KEY}`,
      logger,
    });
    try {
      // Answered or refused (400) alike: what matters is what the log says about it.
      await fetch(`${hub.url}/v1/events?channel=x&access_token=secret123`, {
        headers: { authorization: `Bearer ${KEY}` },
      });
      await fetch(`${hub.url}/v1/nowhere?access_token=secret123&b=1`, {
        headers: { authorization: `Bearer ${KEY}` },
      });
      logger.info("a call site naming secrets", {
        url: "/v1/channels/x/stream?access_token=secret123",
        authorization: `Bearer ${KEY}`,
        apiKey: KEY,
      });
    } finally {
      await hub.close();
    }
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    // Request lines are there (at debug), through fastify's pino, with the URL redacted.
    const urls = parsed.map((l) => (l.req as { url?: string } | undefined)?.url).filter(Boolean);
    expect(urls).toContain("/v1/events?channel=x&access_token=[REDACTED]");
    expect(parsed.some((l) => l.msg === "a call site naming secrets")).toBe(true);
    const all = lines.join("");
    expect(all).not.toContain("secret123");
    expect(all).not.toContain(KEY);
    expect(parsed.every((l) => typeof l.level === "string" && typeof l.time === "string")).toBe(
      true,
    );
  });

  it("redacts credential query values and keeps the rest of the URL", () => {
    expect(redactUrl("/v1/x?a=1&access_token=abc&b=2")).toBe(
      "/v1/x?a=1&access_token=[REDACTED]&b=2",
    );
    expect(redactUrl("/v1/x?ACCESS_TOKEN=abc#f")).toBe("/v1/x?ACCESS_TOKEN=[REDACTED]#f");
    expect(redactUrl("/v1/x?tokens=1")).toBe("/v1/x?tokens=1");
  });
});
