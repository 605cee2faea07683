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
    // Clean everything but what the other configs write into their own folders (each cleans
    // itself, so no stale chunk of an older build ships or piles up): the browser build, the bench.
    clean: ["!browser/**", "!bench/**"],
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
    // `pnpm bench` runs dist/bench/bench.js; it bundles src (dependencies stay external) and is
    // not exported.
    entry: { bench: "bench/bench.ts" },
    outDir: "dist/bench",
    format: ["esm"],
    dts: false,
    sourcemap: false,
    clean: true,
    target: "node20",
  },
]);
