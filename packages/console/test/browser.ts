import { join } from "node:path";
import type { Page } from "playwright-core";
import { screenshot as saveScreenshot } from "../../../test/chromium.js";

export { chromiumRuns, launchChromium } from "../../../test/chromium.js";

/** Screenshots land here, a CI artifact (gitignored). */
export const ARTIFACTS_DIR = join(import.meta.dirname, "..", "test-output");

export function screenshot(page: Page, name: string): Promise<string> {
  return saveScreenshot(page, ARTIFACTS_DIR, name);
}
