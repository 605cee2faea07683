import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

/** Where Debian's `postgresql` package put the newest server's initdb and pg_ctl, if anywhere. */
export function postgresBinDir(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const newest = readdirSync(root)
    .filter((v) => existsSync(join(root, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a))[0];
  return newest === undefined ? undefined : join(root, newest, "bin");
}
