import { spawn } from "node:child_process";
import { join } from "node:path";
import type { Hub } from "@chorus/hub";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCli } from "./cli-process.js";
import { startTestHub } from "./hub-fixture.js";

const QUICKSTART = join(import.meta.dirname, "../../../examples/quickstart");

/** `npx tsx src/index.ts` in the example's folder, as a user would run it. */
function runQuickstart(
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ["CHORUS_URL", "CHORUS_API_KEY", "CHORUS_CHANNEL"]) delete base[name];
  const child = spawn("npx", ["tsx", "src/index.ts"], {
    cwd: QUICKSTART,
    env: { ...base, ...env },
    stdio: "pipe",
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => {
    stdout += d;
  });
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  child.stdin.end();
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

let hub: Hub;
let env: Record<string, string>;

beforeAll(async () => {
  ({ hub, env } = await startTestHub());
});
afterAll(async () => {
  await hub.close();
});

describe("examples/quickstart", () => {
  it("runs on its embedded hub, reads its events back, says how to watch, and exits 0", async () => {
    const result = await runQuickstart({});
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("embedded hub stops when the script ends");
    expect(result.stdout).toContain("pnpm chorus tail --channel quickstart");
    expect(result.stdout).toContain("5 events:");
    for (const type of ["agent.start", "tool.start", "tool.end", "agent.message", "agent.end"]) {
      expect(result.stdout).toContain(type);
    }
  }, 60_000);

  it("against a running hub, `chorus tail` in another process sees every event live", async () => {
    const tail = startCli(["tail", "--channel", "quickstart", "--count", "5"], env);
    await tail.waitFor("following channel quickstart", "stderr");
    const result = await runQuickstart(env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("Watch live in another terminal");
    expect(await tail.exited).toBe(0);
    const lines = tail.output().stdout.trim().split("\n");
    expect(lines.map((l) => /(agent|tool)\.\w+/.exec(l)?.[0])).toEqual([
      "agent.start",
      "tool.start",
      "tool.end",
      "agent.message",
      "agent.end",
    ]);
    expect(lines[3]).toMatch(/greeter\s+quickstart\s+assistant: "Hello, World!"/);
  }, 60_000);
});
