import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["../test/fail-on-unhandled.ts"],
    // Postgres, Mosquitto, three hub processes and nginx: slow to start on a loaded machine.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
