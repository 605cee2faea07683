import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const exampleDir = join(
  dirname(fileURLToPath(import.meta.url)),
  "../../../examples/openai-agents-handoff",
);

/** Run the example as `pnpm start` does (tsx), offline, with its embedded hub. */
function runExample(
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  for (const key of [
    "CHORUS_URL",
    "CHORUS_API_KEY",
    "CHORUS_CHANNEL",
    "OPENAI_API_KEY",
    "NODE_ENV",
  ])
    delete env[key];
  return new Promise((resolve) => {
    execFile(
      join(exampleDir, "node_modules/.bin/tsx"),
      ["src/index.ts", ...args],
      { cwd: exampleDir, env, timeout: 90_000 },
      (error, stdout, stderr) => {
        resolve({
          code: error ? (typeof error.code === "number" ? error.code : 1) : 0,
          stdout,
          stderr,
        });
      },
    );
  });
}

describe("examples/openai-agents-handoff", () => {
  it("runs offline, hands off to the billing specialist, prints its events and exits 0", async () => {
    const { code, stdout, stderr } = await runExample([]);
    expect(stderr).not.toMatch(/Error/);
    expect(code).toBe(0);
    expect(stdout).toContain("agent.handoff");
    expect(stdout).toContain("handoff: Triage -> Billing");
    expect(stdout).toContain("tool.start");
  }, 120_000);
});
