import { Chorus } from "@chorus/core";
import { createHub, type Hub, type HubOptions } from "@chorus/hub";
import type { Browser, Page } from "playwright-core";
import { fileURLToPath } from "node:url";
import { consoleLink, type ConsoleLinkOptions } from "../src/index.js";

/** The built console (`pnpm build` runs before the tests under turbo). */
export const BUILT_CONSOLE = fileURLToPath(new URL("../dist/www", import.meta.url));

export const ORG = "acme";
export const KEY = "key_console_test_0123456789";

/** A hub on a random loopback port serving the built console, with one known key. */
export function startHub(options: HubOptions = {}): Promise<Hub> {
  return createHub({
    port: 0,
    mqttPort: 0,
    db: ":memory:",
    logger: false,
    apiKeys: `${ORG}:${KEY}`,
    consoleDir: BUILT_CONSOLE,
    ...options,
  });
}

/** A Node client that sends at once, as an agent would. */
export function client(url: string, channel: string): Chorus {
  return new Chorus({ url, apiKey: KEY, channel, flushIntervalMs: 20, logger: silent });
}

const silent = { debug() {}, info() {}, warn() {}, error() {} };

/** Open the console through its `#key=` link, as a person clicking `chorus hub`'s output. */
export async function openConsole(
  browser: Browser,
  url: string,
  link: ConsoleLinkOptions,
  /** Called with the page before it loads (to watch its requests from the start). */
  prepare?: (page: Page) => unknown,
): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1440, height: 860 } });
  // What the hub's Content-Security-Policy refused, for cspViolations().
  await page.addInitScript(() => {
    const seen: string[] = [];
    (globalThis as unknown as { cspViolations: string[] }).cspViolations = seen;
    globalThis.document.addEventListener("securitypolicyviolation", (e) =>
      seen.push(`${e.effectiveDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`),
    );
  });
  await prepare?.(page);
  await page.goto(consoleLink(url, { key: KEY, ...link }));
  await page.getByTestId("connection").filter({ hasText: "live" }).waitFor();
  return page;
}

/** What the page's Content-Security-Policy refused since it opened (see openConsole). */
export function cspViolations(page: Page): Promise<string[]> {
  return page.evaluate(() => (globalThis as unknown as { cspViolations: string[] }).cspViolations);
}
