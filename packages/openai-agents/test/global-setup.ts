import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The dist smoke test loads the built package: build it when the sources are newer than `dist`. */
export default function setup(): void {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..");
  const built = join(root, "dist", "index.js");
  if (existsSync(built) && statSync(built).mtimeMs >= newestMtime(join(root, "src"))) return;
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
