import { describe, expect, it } from "vitest";
import { runExample } from "../../../test/run-example.js";

/*
 * The example is documentation that runs: `pnpm start` in examples/anthropic-tools (offline,
 * embedded hub) must exit 0 and print the tool call it observed. It imports the built package,
 * so run `pnpm build` first.
 */
describe("examples/anthropic-tools", () => {
  it("runs offline, exits 0 and prints the events of its tool loop", async () => {
    const { code, stdout, stderr } = await runExample("anthropic-tools", ["ANTHROPIC_API_KEY"]);
    expect(code, stderr).toBe(0);
    expect(stdout).toContain("get_weather");
    expect(stdout).toMatch(/\btool\.start\b/);
    expect(stdout).toMatch(/\btool\.end\b/);
    expect(stdout.match(/\bllm\.end\b/g)?.length).toBe(2);
  }, 120_000);
});
