import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { PgStore } from "../src/store/pg.js";
import { freePort } from "./free-port.js";
import { postgresBinDir } from "./pg-bin.js";

/**
 * Vitest global setup of the `postgres` project: a throwaway Postgres cluster from Debian's
 * `postgresql` package (no Docker), on a free loopback port, with fsync off (tests need speed,
 * not durability). A template database is migrated once; each test store or hub gets a fresh
 * copy of it (`freshDb()` in store-under-test.ts). Missing Postgres fails here; vitest.config.ts
 * leaves the project out, with a warning, only outside CI (`.ci/run` installs it).
 */
export const TEMPLATE_DB = "chorus_template";

declare module "vitest" {
  export interface ProvidedContext {
    pgAdminUrl: string;
  }
}

/** A running temporary cluster: its superuser URL (database `postgres`) and how to stop it. */
export interface PgCluster {
  adminUrl: string;
  /** `postgres://postgres@127.0.0.1:<port>/<db>` on this cluster. */
  urlOf(db: string): string;
  stop(): void;
}

/**
 * Start a temporary cluster in a fresh directory, trust auth on loopback only. `durable: false`
 * (tests) turns fsync and synchronous commit off; benchmarks keep Postgres' defaults.
 */
export async function startPgCluster(
  options: { durable?: boolean; maxConnections?: number } = {},
): Promise<PgCluster> {
  const bin = postgresBinDir();
  if (!bin) {
    throw new Error(
      "Postgres tests need Debian's postgresql package (initdb, pg_ctl): apt-get install postgresql",
    );
  }
  const dir = mkdtempSync(join(tmpdir(), "chorus-pg-"));
  const data = join(dir, "data");
  // initdb refuses to run as root: run the server as Debian's postgres user then.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
    chownSync(dir, uid, gid);
    chmodSync(dir, 0o700);
  }
  const run = (cmd: string, args: string[]) => {
    const [file, argv] = asRoot ? ["runuser", ["-u", "postgres", "--", cmd, ...args]] : [cmd, args];
    return spawnSync(file, argv, { encoding: "utf8" });
  };
  const check = (cmd: string, result: ReturnType<typeof spawnSync>) => {
    if (result.status !== 0) {
      throw new Error(`${cmd} failed (${result.status}): ${result.stderr || result.stdout}`);
    }
  };
  const initdb = join(bin, "initdb");
  check(
    initdb,
    run(initdb, ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]),
  );
  const port = await freePort();
  const settings = [
    `-p ${port}`,
    `-k ${dir}`,
    "-c listen_addresses=127.0.0.1",
    `-c max_connections=${options.maxConnections ?? 600}`,
    ...(options.durable
      ? []
      : ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]),
  ].join(" ");
  const pgCtl = join(bin, "pg_ctl");
  check(pgCtl, run(pgCtl, ["-D", data, "-o", settings, "-l", join(dir, "log"), "-w", "start"]));
  const urlOf = (db: string) => `postgres://postgres@127.0.0.1:${port}/${db}`;
  return {
    adminUrl: urlOf("postgres"),
    urlOf,
    stop() {
      run(pgCtl, ["-D", data, "-m", "immediate", "-w", "stop"]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cluster = await startPgCluster();
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: cluster.adminUrl });
  await client.connect();
  await client.query(`CREATE DATABASE ${TEMPLATE_DB}`);
  await client.end();
  const template = await PgStore.open(cluster.urlOf(TEMPLATE_DB));
  await template.close();
  project.provide("pgAdminUrl", cluster.adminUrl);
  return async () => cluster.stop();
}
