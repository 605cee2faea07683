import { defineConfig } from "vitest/config";

const shared = { include: ["test/**/*.test.ts"], setupFiles: ["../../test/fail-on-unhandled.ts"] };

// The store and hub suites run twice: once on SQLite and once on Postgres (a throwaway cluster
// started by test/pg-cluster.ts). Suites about one store's own mechanics name it in their file
// name and run only in that project.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          ...shared,
          name: "sqlite",
          exclude: ["test/**/*.postgres.test.ts"],
          env: { CHORUS_TEST_STORE: "sqlite" },
        },
      },
      {
        test: {
          ...shared,
          name: "postgres",
          exclude: ["test/**/*.sqlite.test.ts", "test/dist.test.ts", "test/config.test.ts"],
          env: { CHORUS_TEST_STORE: "postgres" },
          globalSetup: ["test/pg-cluster.ts"],
        },
      },
    ],
  },
});
