import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/*
 * The example is documentation that runs: `pnpm start` in examples/openai-otel (offline,
 * embedded hub) must exit 0 and print the events the OTel path made of the OpenInference spans
 * of the plain openai SDK. It imports the built package, so run `pnpm build` first.
 */
const exampleDir = fileURLToPath(new URL("../../../examples/openai-otel", import.meta.url));

function runExample(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of ["CHORUS_URL", "CHORUS_API_KEY", "CHORUS_CHANNEL", "OPENAI_API_KEY"])
    delete env[key];
  return new Promise((resolve) => {
    execFile(
      "npx",
      ["tsx", "src/index.ts"],
      { cwd: exampleDir, env, timeout: 90_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

describe("examples/openai-otel", () => {
  it("runs offline, exits 0 and prints the run, both model calls and the tool call", async () => {
    const { code, stdout, stderr } = await runExample();
    expect(code, stderr).toBe(0);
    expect(stdout).toContain("get_weather");
    expect(stdout).toMatch(/\bagent\.start\b/);
    expect(stdout).toMatch(/\bagent\.end\b/);
    expect(stdout).toMatch(/\btool\.start\b/);
    expect(stdout).toMatch(/\btool\.end\b/);
    expect(stdout.match(/\bllm\.end\b/g)?.length).toBe(2);
  }, 120_000);
});
