import { defineConfig } from "tsup";

export default defineConfig([
  {
    entry: ["src/index.ts"],
    format: ["esm", "cjs"],
    dts: true,
    sourcemap: true,
    // Keep the bench bundle the second config writes into the same folder.
    clean: ["!bench.*"],
    target: "node20",
  },
  {
    // `pnpm bench` runs dist/bench.js; it bundles src (dependencies stay external) and is not exported.
    entry: { bench: "bench/bench.ts" },
    format: ["esm"],
    dts: false,
    sourcemap: false,
    clean: false,
    target: "node20",
  },
]);
