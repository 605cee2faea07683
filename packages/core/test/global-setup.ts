import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The dist smoke test and the exit-drain test run the built package in a child process; build it
 * when the sources are newer than `dist`.
 */
export default function setup(): void {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..");
  const built = join(root, "dist", "index.js");
  const newest = newestMtime(join(root, "src"));
  if (existsSync(built) && statSync(built).mtimeMs >= newest) return;
  execFileSync("pnpm", ["exec", "tsup"], { cwd: root, stdio: "ignore" });
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}
