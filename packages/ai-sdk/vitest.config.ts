import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["../../test/fail-on-unhandled.ts"],
    // Integration tests start real hubs and HTTP servers; the machine's two cores are shared.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
