import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["../../test/fail-on-unhandled.ts"],
    globalSetup: ["test/global-setup.ts"],
    // Integration tests start real hubs; the machine's two cores are shared with other packages.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
