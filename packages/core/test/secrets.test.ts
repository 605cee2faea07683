import { afterEach, describe, expect, it, vi } from "vitest";
import { Chorus } from "../src/index.js";
import { apiKeyProblem, maskText } from "../src/secrets.js";
import { client, closeAll, fakeHub, recordingLogger } from "./helpers.js";

// The client's API key and a URL's password never reach its logs or `onError` (Node).
afterEach(closeAll);

const KEY = "sk-live-0123456789abcdef";

describe("an API key no HTTP header can carry", () => {
  it("is named by its character and where it is, never shown", () => {
    for (const [key, where] of [
      ["sk-secret\n", "U+000A at index 9"],
      ["sk-se\x00cret", "U+0000 at index 5"],
      ["sk-secret\u20ac", "U+20AC at index 9"],
    ] as const) {
      const problem = apiKeyProblem(key);
      expect(problem, JSON.stringify(key)).toContain(where);
      expect(problem).not.toContain("secret");
    }
    // Tab, printable ASCII and Latin-1 are what a header carries.
    expect(apiKeyProblem("sk-\tcafé")).toBeUndefined();
    expect(apiKeyProblem(undefined)).toBeUndefined();
  });
});

describe("what the client logs", () => {
  it("masks the key (its first four characters stay) and a URL's password", () => {
    expect(maskText(`header authorization=Bearer ${KEY}!`, KEY)).toBe(
      "header authorization=Bearer sk-l…!",
    );
    expect(maskText('url "ftp://admin:hunter2@hub:7420" is invalid', KEY)).toBe(
      'url "ftp://admin:***@hub:7420" is invalid',
    );
    expect(maskText("admin:hunter2@hub.internal:7420,hub2:7420", undefined)).toBe(
      "admin:***@hub.internal:7420,hub2:7420",
    );
    // A port or a path is no password; a key too short to be a secret is not looked for.
    expect(maskText("GET http://127.0.0.1:7420/v1/events failed", "k")).toBe(
      "GET http://127.0.0.1:7420/v1/events failed",
    );
  });

  it.each([
    "admin:hunter2@hub.internal:7420",
    "ftp://admin:hunter2@hub.internal:7420",
    "https://admin:hunter2@hub.internal:7420,hub2:7420",
  ])("a refused url option %j is logged with its password masked", async (url) => {
    const logger = recordingLogger();
    const chorus = client({ url, logger });
    await chorus.close(10);
    const lines = JSON.stringify(logger.lines);
    expect(lines).toContain("admin:***@hub.internal:7420");
    expect(lines).not.toContain("hunter2");
  });

  it("a hub or proxy that echoes the key: masked in the default stderr logger, a custom logger and onError", async () => {
    const fake = await fakeHub((req, res) => {
      const status = req.method === "POST" ? 400 : 503;
      res.writeHead(status, { "content-type": "application/json" }).end(
        JSON.stringify({
          error: {
            code: status === 400 ? "validation_failed" : "unavailable",
            message: `rejected request with header authorization=${req.headers.authorization}`,
          },
        }),
      );
    });
    const stderr = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      const logger = recordingLogger();
      const errors: string[] = [];
      const onError = (error: unknown) => errors.push((error as Error).message);
      const custom = client({ url: fake.url, apiKey: KEY, logger, onError, maxRetries: 0 });
      const plain = new Chorus({ url: fake.url, apiKey: KEY, drainOnExit: false, maxRetries: 0 });
      for (const chorus of [custom, plain]) {
        chorus.emit({ type: "custom" });
        expect(await chorus.flush(5000)).toBe(true); // refused (400)
        expect(await chorus.events.list({ channel: "t" })).toEqual({ data: [] }); // failed open (503)
      }
      await plain.close(100);
      const written = [
        JSON.stringify(logger.lines),
        JSON.stringify(stderr.mock.calls),
        JSON.stringify(errors),
      ];
      for (const text of written) {
        expect(text).toContain("authorization=Bearer sk-l…");
        expect(text).not.toContain(KEY);
      }
      expect(errors).toHaveLength(2);
    } finally {
      stderr.mockRestore();
      await fake.close();
    }
  });
});
