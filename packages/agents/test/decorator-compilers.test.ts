import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "tsup";
import { afterAll, describe, expect, it } from "vitest";

/*
 * Vitest compiles this package's tests with TypeScript (see vitest.config.ts). Users of tsup,
 * tsx or esbuild get esbuild's lowering of standard decorators instead, whose details differ
 * (helpers, `Symbol.metadata` handling). The same fixture, compiled by esbuild through tsup,
 * must behave identically.
 */
describe("decorators compiled by esbuild (tsup)", () => {
  // Inside the package, so the compiled file resolves @chorus/* like the sources do.
  const outDir = join(import.meta.dirname, "..", "node_modules", ".cache", "decorator-fixture");
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it("records the same handlers, in the same order, with the same behaviour", async () => {
    mkdirSync(outDir, { recursive: true });
    await build({
      config: false,
      entry: { fixture: join(import.meta.dirname, "fixtures", "decorated-agent.ts") },
      outDir,
      format: ["esm"],
      target: "node20",
      bundle: true,
      dts: false,
      sourcemap: false,
      silent: true,
      external: ["@chorus/core", "@chorus/protocol"],
    });
    const mod = (await import(pathToFileURL(join(outDir, "fixture.js")).href)) as {
      describeCompiled(): unknown;
    };
    expect(mod.describeCompiled()).toEqual({
      id: "compiled",
      handlers: ["assignment:first", "status:both", "event:both", "stateChange:#hidden"],
      calls: ["first:i1", "both", "both", "hidden:private"],
    });
  });
});
