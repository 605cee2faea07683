import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm", "cjs"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "node20",
  // `import.meta.url` in the CommonJS build too: src/otlp/schema.ts finds proto/ with it.
  shims: true,
});
