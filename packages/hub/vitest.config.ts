import { defineConfig } from "vitest/config";
import { systemTool } from "../../test/system-tools.js";
import { postgresBinDir } from "./test/pg-bin.js";

const shared = { include: ["test/**/*.test.ts"], setupFiles: ["../../test/fail-on-unhandled.ts"] };

// The store and hub suites run twice: once on SQLite and once on Postgres (a throwaway cluster
// started by test/pg-cluster.ts from Debian's postgresql: required under CI, left out with a
// warning elsewhere, see test/system-tools.ts). Suites about one store's own mechanics name it
// in their file name and run only in that project.
const sqlite = {
  test: {
    ...shared,
    name: "sqlite",
    exclude: ["test/**/*.postgres.test.ts"],
    env: { CHORUS_TEST_STORE: "sqlite" },
  },
};
const postgres = {
  test: {
    ...shared,
    name: "postgres",
    exclude: ["test/**/*.sqlite.test.ts", "test/dist.test.ts", "test/config.test.ts"],
    env: { CHORUS_TEST_STORE: "postgres" },
    globalSetup: ["test/pg-cluster.ts"],
  },
};
const withPostgres = systemTool(
  "the hub suites on Postgres",
  postgresBinDir() !== undefined,
  "apt-get install postgresql",
);

export default defineConfig({
  test: { projects: withPostgres ? [sqlite, postgres] : [sqlite] },
});
