import type { Plugin } from "esbuild";
import { defineConfig } from "tsup";

/**
 * The browser entry is the same sources with `platform.browser.ts` in place of `platform.ts`:
 * one code path, and the only file that touches Node built-ins is swapped out.
 */
const browserPlatform: Plugin = {
  name: "chorus-browser-platform",
  setup(build) {
    build.onResolve({ filter: /^\.\/platform\.js$/ }, (args) => ({
      path: `${args.resolveDir}/platform.browser.ts`,
    }));
  },
};

export default defineConfig([
  {
    // `@chorus/core/adapter-kit`: the shared mechanisms of the framework adapters.
    entry: { index: "src/index.ts", "adapter-kit": "src/adapter-kit/index.ts" },
    format: ["esm", "cjs"],
    dts: true,
    sourcemap: true,
    // Clean everything but what the other configs write: the bench beside it, the browser build
    // in its own folder (which cleans itself, so no stale chunk of an older build ships).
    clean: ["!bench*", "!browser/**"],
    target: "node20",
  },
  {
    // `exports` condition `browser`: ESM for bundlers; types are index.d.ts (the same API). Its
    // own folder, cleaned on every build: the chunks loaded on first use have hashed names.
    entry: { index: "src/index.ts" },
    outDir: "dist/browser",
    format: ["esm"],
    platform: "browser",
    dts: false,
    sourcemap: true,
    clean: true,
    target: "es2022",
    esbuildPlugins: [browserPlatform],
  },
  {
    // `pnpm bench` runs dist/bench.js; it bundles src (dependencies stay external) and is not exported.
    entry: { bench: "bench/bench.ts" },
    format: ["esm"],
    dts: false,
    sourcemap: false,
    clean: false,
    target: "node20",
    esbuildOptions(options) {
      options.chunkNames = "bench-[name]-[hash]";
    },
  },
]);
