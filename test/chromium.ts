import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";

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
 * Launch the real Chromium. Missing, it is a failure with the fix in the message, never a skip:
 * these tests are the only proof the code works in a browser.
 */
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
