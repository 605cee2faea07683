import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const PACKAGES = join(import.meta.dirname, "../..");

/** Every publishable workspace package (not private), by folder. */
const publishable = readdirSync(PACKAGES).filter((dir) => {
  const file = join(PACKAGES, dir, "package.json");
  return existsSync(file) && !JSON.parse(readFileSync(file, "utf8")).private;
});

describe("published tarballs", () => {
  it.each(publishable)(
    "%s ships a LICENSE, states Node >=20.12, and no bench file",
    (dir) => {
      const pkg = JSON.parse(readFileSync(join(PACKAGES, dir, "package.json"), "utf8"));
      // styleText (node:util), used by the CLI and console output, arrived in Node 20.12.
      expect(pkg.engines?.node).toBe(">=20.12");
      const packed = JSON.parse(
        execFileSync("pnpm", ["pack", "--dry-run", "--json"], {
          cwd: join(PACKAGES, dir),
          encoding: "utf8",
        }),
      ) as { files: { path: string }[] };
      const paths = packed.files.map((f) => f.path);
      expect(paths).toContain("LICENSE");
      expect(paths).toContain("package.json");
      expect(paths.filter((p) => /(^|\/)bench[.-]/.test(p))).toEqual([]);
    },
    60_000,
  );
});
