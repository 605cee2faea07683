import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm", "cjs"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "node20",
  // The peer is never bundled: one copy of @langchain/core per app, so its classes and
  // `instanceof` checks stay the user's. Subpaths are listed because they are imported directly.
  external: [/^@langchain\/core(\/.*)?$/, /^@chorus\/core$/],
});
