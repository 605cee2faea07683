import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The tests import @chorus/core and @chorus/hub through their built `dist` (as a user would),
 * and the dist smoke test loads this package's own. Dependencies are built when missing (their
 * freshness is their own build's business: turbo builds them first in CI); this package's dist
 * is rebuilt when older than its sources.
 */
export default function setup(): void {
  const packages = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
  for (const name of ["protocol", "core", "hub"]) {
    if (!existsSync(join(packages, name, "dist", "index.js"))) build(join(packages, name));
  }
  const own = join(packages, "agents");
  const built = join(own, "dist", "index.js");
  if (!existsSync(built) || statSync(built).mtimeMs < newestMtime(join(own, "src"))) build(own);
}

function build(root: string): void {
  try {
    execFileSync("pnpm", ["exec", "tsup"], { cwd: root, stdio: "pipe" });
  } catch (error) {
    const output = (error as { stdout?: Buffer; stderr?: Buffer }).stdout?.toString() ?? "";
    throw new Error(`building ${root} failed:\n${output.slice(-4000)}`);
  }
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}
