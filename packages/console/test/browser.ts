import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";

/** Debian's Chromium (`.ci/run` installs it); CHORUS_CHROMIUM_PATH points elsewhere. */
export const CHROMIUM_PATH = process.env.CHORUS_CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Screenshots land here, a CI artifact (gitignored). */
export const ARTIFACTS_DIR = join(import.meta.dirname, "..", "test-output");

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
 * these tests are the only proof the console works in a browser.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `no Chromium at ${CHROMIUM_PATH}: apt-get install chromium (or set CHORUS_CHROMIUM_PATH)`,
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: FLAGS, headless: true });
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${name}.png`);
  await page.screenshot({ path });
  return path;
}
