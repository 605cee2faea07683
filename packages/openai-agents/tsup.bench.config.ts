import { defineConfig } from "tsup";

// Benchmarks are built apart from the package so they never ship in `dist`.
export default defineConfig({
  entry: { bench: "bench/bench.ts", profile: "bench/profile.ts" },
  outDir: "bench-dist",
  format: ["esm"],
  target: "node20",
  clean: true,
  skipNodeModulesBundle: true,
});
