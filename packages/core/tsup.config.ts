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
    // Keep what the other configs write into the same folder.
    clean: ["!bench*", "!browser*"],
    target: "node20",
  },
  {
    // `exports` condition `browser`: ESM for bundlers; types are index.d.ts (the same API).
    entry: { browser: "src/index.ts" },
    format: ["esm"],
    platform: "browser",
    dts: false,
    sourcemap: true,
    clean: false,
    target: "es2022",
    esbuildPlugins: [browserPlatform],
    // The chunks loaded on first use (schemas, SSE client, realtime) are named so that the Node
    // config's clean keeps them.
    esbuildOptions(options) {
      options.chunkNames = "browser-[name]-[hash]";
    },
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
