import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const exampleDir = fileURLToPath(new URL("../../../examples/langchain-agent", import.meta.url));

describe("examples/langchain-agent", () => {
  it("`pnpm start` runs offline, prints the events it produced, and exits 0", async () => {
    const env = { ...process.env };
    // Offline and self-contained, whatever the developer's shell has set.
    for (const key of ["CHORUS_URL", "CHORUS_API_KEY", "CHORUS_CHANNEL", "ANTHROPIC_API_KEY"])
      delete env[key];
    const { code, stdout, stderr } = await new Promise<{
      code: number | null;
      stdout: string;
      stderr: string;
    }>((resolve) => {
      execFile(
        "pnpm",
        ["start"],
        { cwd: exampleDir, env, timeout: 90_000 },
        (error, stdout, stderr) => {
          resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
        },
      );
    });
    expect(code, stderr).toBe(0);
    expect(stdout).toContain("answer: It's sunny and 24°C in Paris");
    expect(stdout).toContain("9 events:");
    for (const type of [
      "agent.start",
      "llm.start",
      "llm.end",
      "tool.start",
      "tool.end",
      "agent.message",
      "agent.end",
    ]) {
      expect(stdout).toContain(type);
    }
  }, 120_000);
});
