import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { systemTool } from "./system-tools.js";

/*
 * The real browser of the browser tests (core's browser entry, the console): Debian's Chromium,
 * driven by playwright-core, which downloads nothing. `.ci/run` installs it with apt-get.
 */

/** Debian's Chromium; CHORUS_CHROMIUM_PATH points elsewhere. */
export const CHROMIUM_PATH = process.env.CHORUS_CHROMIUM_PATH ?? "/usr/bin/chromium";

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/**
 * Whether the browser tests run (`describe.runIf(chromiumRuns)`): always under CI, where a
 * missing Chromium fails them; skipped with a warning on a machine without it (see
 * system-tools.ts).
 */
export const chromiumRuns = systemTool(
  "browser tests in Chromium",
  existsSync(CHROMIUM_PATH),
  "apt-get install chromium, or set CHORUS_CHROMIUM_PATH",
);

/** Launch the real Chromium; missing, it fails with the fix in the message. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `no Chromium at ${CHROMIUM_PATH}: apt-get install chromium (or set CHORUS_CHROMIUM_PATH)`,
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: FLAGS, headless: true });
}

/** Save a screenshot as `<dir>/<name>.png` (a package's gitignored `test-output`, a CI artifact). */
export async function screenshot(page: Page, dir: string, name: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path });
  return path;
}
