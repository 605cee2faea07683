import { defineConfig } from "tsup";

// Benchmarks are built apart from the package so they never ship in `dist`. The hub and the
// receivers are entries of their own: the bench runs each in a separate process.
export default defineConfig({
  entry: {
    bench: "bench/bench.ts",
    "hub-process": "bench/hub-process.ts",
    receivers: "bench/receivers.ts",
    "wire-sender": "bench/wire-sender.ts",
    sentinel: "bench/sentinel.ts",
  },
  outDir: "bench-dist",
  format: ["esm"],
  target: "node20",
  clean: true,
  skipNodeModulesBundle: true,
});
