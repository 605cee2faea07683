import { createServer, type Server } from "node:http";
import type { Hub } from "@chorus/hub";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./cli-process.js";
import { KEY, startTestHub } from "./hub-fixture.js";

/**
 * What an agent (or a server posing as the hub) could put in front of a person running the CLI:
 * OSC 52 writes the clipboard, OSC 0 retitles the window, CSI 2J clears the screen, CSI 1A moves
 * up to rewrite the line before; a right-to-left override reorders the text after it.
 */
const HOSTILE =
  "a\u001b]52;c;ZXZpbA==\u0007b\u001b]0;pwned\u0007c\u001b[2J\u001b[1Ad\u009b31me\u202ef";
/** No terminal control at all: the CLI writes no colours when stdout is not a terminal. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

let hub: Hub;
let env: Record<string, string>;
let post: (events: object | object[]) => Promise<void>;
beforeAll(async () => {
  ({ hub, env, post } = await startTestHub());
});
afterAll(async () => {
  await hub.close();
});

describe("what the hub sends is printed as text, never as terminal controls", () => {
  it("chorus tail", async () => {
    await post([
      { channel: "hostile", type: "agent.message", payload: { role: "assistant", text: HOSTILE } },
      {
        channel: "hostile",
        type: "tool.error",
        payload: { name: "t", error: { message: HOSTILE } },
      },
      { channel: "hostile", type: "custom", payload: { note: HOSTILE } },
    ]);
    const result = await runCli(["tail", "-c", "hostile", "--after", "0", "-n", "3"], env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).not.toMatch(CONTROL);
    // Shown, escaped: a person sees that something odd was sent.
    expect(result.stdout).toContain("\\x1b]52;c;ZXZpbA==\\x07");
    expect(result.stdout).toContain("\\u202e");
    expect(result.stdout.trim().split("\n")).toHaveLength(3);
  }, 30_000);

  it("chorus intents list and show", async () => {
    const res = await fetch(`${hub.url}/v1/intents`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      body: JSON.stringify({
        title: `Title ${HOSTILE}`,
        description: `Line one\n${HOSTILE}`,
        state: { note: HOSTILE },
      }),
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    for (const args of [
      ["intents", "list"],
      ["intents", "show", id],
    ]) {
      const result = await runCli(args, env);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout, args.join(" ")).not.toMatch(CONTROL);
      expect(result.stdout).toContain("\\x1b]0;pwned\\x07");
    }
  }, 30_000);

  it("an error message from the server", async () => {
    // Not a hub: a server that answers like one, with controls in its message.
    const server: Server = createServer((_req, res) => {
      res.writeHead(400, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          error: { code: "validation_failed", message: HOSTILE, requestId: "req-1" },
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    try {
      const result = await runCli(["intents", "list"], {
        CHORUS_URL: `http://127.0.0.1:${port}`,
        CHORUS_API_KEY: KEY,
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("\\x1b[2J");
      expect(result.stderr).not.toMatch(CONTROL);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }, 30_000);
});
