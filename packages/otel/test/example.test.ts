import { describe, expect, it } from "vitest";
import { runExample } from "../../../test/run-example.js";

/*
 * The example is documentation that runs: `pnpm start` in examples/openai-otel (offline,
 * embedded hub) must exit 0 and print the events the OTel path made of the OpenInference spans
 * of the plain openai SDK. It imports the built package, so run `pnpm build` first.
 */
describe("examples/openai-otel", () => {
  it("runs offline, exits 0 and prints the run, both model calls and the tool call", async () => {
    const { code, stdout, stderr } = await runExample("openai-otel", ["OPENAI_API_KEY"]);
    expect(code, stderr).toBe(0);
    expect(stdout).toContain("get_weather");
    expect(stdout).toMatch(/\bagent\.start\b/);
    expect(stdout).toMatch(/\bagent\.end\b/);
    expect(stdout).toMatch(/\btool\.start\b/);
    expect(stdout).toMatch(/\btool\.end\b/);
    expect(stdout.match(/\bllm\.end\b/g)?.length).toBe(2);
  }, 120_000);
});
