import { defineConfig } from "tsup";

/** The Node entry only says where the built web assets are; build-web.mjs builds those. */
export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm", "cjs"],
  dts: true,
  clean: true,
  shims: true,
  target: "node20",
});
