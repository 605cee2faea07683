import { defineConfig } from "tsup";

// No `clean`: the two configs build at once into one folder, and either's clean could remove
// what the other wrote (a stale file of a deleted module is harmless; `rm -rf dist` clears it).
export default defineConfig([
  {
    // ESM one file per module (not bundled), so that with `"sideEffects": false` a page's
    // bundler drops whole modules it does not use: the browser entry of @chorus/core imports
    // error codes, limits, topics and SSE names without pulling zod in with the schemas.
    entry: ["src/**/*.ts"],
    bundle: false,
    format: ["esm"],
    dts: { entry: { index: "src/index.ts", wire: "src/wire.ts" } },
    sourcemap: true,
    clean: false,
    target: "node20",
  },
  {
    entry: ["src/index.ts", "src/wire.ts"],
    format: ["cjs"],
    dts: true,
    sourcemap: true,
    clean: false,
    target: "node20",
  },
]);
