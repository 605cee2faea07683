import ts from "typescript";
import { defineConfig, type Plugin } from "vitest/config";

/**
 * Vite 8 compiles TypeScript with Oxc, which lowers only legacy (`experimentalDecorators`)
 * decorators and leaves standard ones in place, where Node cannot parse them. This package's
 * files are compiled with TypeScript itself instead: the emit a user of `tsc` gets. (The esbuild
 * emit that tsup and tsx users get is covered by test/decorator-compilers.test.ts.)
 */
function typescriptWithStandardDecorators(): Plugin {
  return {
    name: "chorus:typescript-standard-decorators",
    enforce: "pre",
    transform(code, id) {
      if (!/\.[cm]?ts$/.test(id) || id.includes("/node_modules/")) return null;
      const out = ts.transpileModule(code, {
        fileName: id,
        compilerOptions: {
          target: ts.ScriptTarget.ES2022,
          module: ts.ModuleKind.ESNext,
          sourceMap: true,
          verbatimModuleSyntax: true,
        },
      });
      return {
        code: out.outputText,
        map: out.sourceMapText ? JSON.parse(out.sourceMapText) : null,
      };
    },
  };
}

export default defineConfig({
  oxc: false,
  plugins: [typescriptWithStandardDecorators()],
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["../../test/fail-on-unhandled.ts"],
    globalSetup: ["test/global-setup.ts"],
    // Integration tests start real hubs; two cores are shared with other packages.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
