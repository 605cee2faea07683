import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/*
 * Every example with a model API key that the API refuses (what a mistyped or revoked key
 * gets): the run must end with exit 1 and the failure in a few lines, never a stack trace, and
 * never stay alive on its embedded hub. The "API" is a local server answering 401 the way
 * OpenAI and Anthropic do, so this runs offline.
 */

let api: Server;
let apiUrl: string;
beforeAll(async () => {
  api = createServer((req, res) => {
    req.resume();
    res.writeHead(401, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        type: "error",
        error: {
          type: "authentication_error",
          message: "invalid x-api-key",
          code: "invalid_api_key",
        },
      }),
    );
  });
  await new Promise<void>((resolve) => api.listen(0, "127.0.0.1", resolve));
  apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
});
afterAll(async () => {
  api.closeAllConnections();
  await new Promise((resolve) => api.close(resolve));
});

/** Past this the example is taken to hang (it is killed, and its exit code is null). */
const HANG_MS = 120_000;

async function runExample(
  folder: string,
  extraEnv: NodeJS.ProcessEnv,
): Promise<{ code: number | null; out: string }> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NO_COLOR: "1",
    OPENAI_API_KEY: "sk-bogus",
    OPENAI_BASE_URL: `${apiUrl}/v1`,
    ANTHROPIC_API_KEY: "bogus",
    ANTHROPIC_BASE_URL: apiUrl,
    ANTHROPIC_API_URL: apiUrl,
    // The OpenAI Agents SDK would also export its traces to api.openai.com.
    OPENAI_AGENTS_DISABLE_TRACING: "1",
    ...extraEnv,
  };
  // Their own embedded hub: closing it is part of what is tested.
  for (const name of ["CHORUS_URL", "CHORUS_API_KEY", "CHORUS_CHANNEL", "CHORUS_KEEP"])
    delete env[name];
  const child = spawn(process.execPath, ["--import", "tsx", "src/index.ts"], {
    cwd: join(import.meta.dirname, "../..", folder),
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const guard = setTimeout(() => child.kill("SIGKILL"), HANG_MS);
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  clearTimeout(guard);
  return { code, out };
}

/** A line of a printed stack trace. */
const STACK_LINE = /^\s+at .+[:(]/m;

describe("an example whose model API refuses the key", () => {
  it.each([
    ["anthropic-tools", "ANTHROPIC_API_KEY"],
    ["ai-sdk-tools", "OPENAI_API_KEY"],
    ["openai-otel", "OPENAI_API_KEY"],
    ["openai-agents-handoff", "OPENAI_API_KEY"],
    ["langchain-agent", "ANTHROPIC_API_KEY"],
  ])(
    "%s exits 1 with the API's answer and a hint about %s, no stack trace",
    async (folder, key) => {
      const { code, out } = await runExample(folder, {});
      expect(code, out).toBe(1);
      expect(out).toContain(`${folder} failed:`);
      expect(out).toMatch(/401|invalid x-api-key|authentication/i);
      expect(out).toContain(`${key} is set, so the real API was called`);
      expect(out).not.toMatch(STACK_LINE);
    },
    HANG_MS + 30_000,
  );

  it(
    "research-team stops at the failed handler with exit 1 instead of waiting for its deadline",
    async () => {
      const { code, out } = await runExample("research-team", { DEMO_TIMEOUT_MS: "60000" });
      expect(code, out).toBe(1);
      expect(out).toMatch(/handler scope failed: .*(401|invalid x-api-key|authentication)/i);
      expect(out).toContain("the intent stopped: a handler failed");
      expect(out).not.toContain("timed out");
      expect(out).not.toMatch(STACK_LINE);
    },
    HANG_MS + 30_000,
  );
});
