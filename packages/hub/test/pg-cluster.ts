import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { PgStore } from "../src/store/pg.js";
import { postgresBinDir } from "./pg-bin.js";
import { freePort } from "./free-port.js";

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

function binDir(): string {
  const bin = postgresBinDir();
  if (!bin) {
    throw new Error(
      "Postgres tests need Debian's postgresql package (initdb, pg_ctl): apt-get install postgresql",
    );
  }
  return bin;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const bin = binDir();
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
    const result = spawnSync(file, argv, { encoding: "utf8" });
    if (result.status !== 0) {
      throw new Error(`${cmd} failed (${result.status}): ${result.stderr || result.stdout}`);
    }
  };
  run(join(bin, "initdb"), [
    "-D",
    data,
    "-U",
    "postgres",
    "--auth=trust",
    "-E",
    "UTF8",
    "--no-sync",
  ]);
  const port = await freePort();
  const options = [
    `-p ${port}`,
    `-k ${dir}`,
    "-c listen_addresses=127.0.0.1",
    "-c max_connections=600",
    "-c fsync=off",
    "-c synchronous_commit=off",
    "-c full_page_writes=off",
  ].join(" ");
  run(join(bin, "pg_ctl"), ["-D", data, "-o", options, "-l", join(dir, "log"), "-w", "start"]);

  const admin = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE ${TEMPLATE_DB}`);
  await client.end();
  const template = await PgStore.open(`postgres://postgres@127.0.0.1:${port}/${TEMPLATE_DB}`);
  await template.close();
  project.provide("pgAdminUrl", admin);

  return async () => {
    spawnSync(asRoot ? "runuser" : join(bin, "pg_ctl"), [
      ...(asRoot ? ["-u", "postgres", "--", join(bin, "pg_ctl")] : []),
      "-D",
      data,
      "-m",
      "immediate",
      "-w",
      "stop",
    ]);
    rmSync(dir, { recursive: true, force: true });
  };
}
