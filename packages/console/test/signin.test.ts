import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consoleLink } from "../src/index.js";
import { chromiumRuns, launchChromium } from "./browser.js";
import { KEY, ORG, openConsole, startHub } from "./helpers.js";

describe.runIf(chromiumRuns)("signing in, and what the hub refuses, in a real Chromium", () => {
  let browser: Browser;
  const dirs: string[] = [];
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it("says the hub refused a revoked key, and stops instead of reconnecting", async () => {
    const dir = mkdtempSync(join(tmpdir(), "chorus-console-revoked-"));
    dirs.push(dir);
    const db = join(dir, "hub.sqlite");
    let hub = await startHub({ db });
    const port = Number(new URL(hub.url).port);
    try {
      const page = await openConsole(browser, hub.url, { channel: "revoked" });
      // The same hub comes back without the page's key: it has been revoked.
      await hub.close();
      hub = await startHub({ db, port, apiKeys: `${ORG}:key_console_test_other_98765` });

      const failure = page.getByTestId("failure");
      await failure.waitFor({ timeout: 60_000 });
      expect(await failure.textContent()).toBe(
        "The hub refused this key (401): it may have been revoked. The streams have stopped; reload the page to sign in again with a key the hub accepts.",
      );
      await expect.poll(() => page.getByTestId("connection").textContent()).toBe("stopped");
      expect(await page.getByTestId("away").count()).toBe(0);
    } finally {
      await hub.close();
    }
  });

  it("signs in with a #key= link opened in a tab already showing the console, and drops it from the address", async () => {
    const other = "key_console_test_second_24680";
    const hub = await startHub({ apiKeys: `${ORG}:${KEY},${ORG}:${other}` });
    try {
      const minted: string[] = [];
      const page = await openConsole(browser, hub.url, { channel: "one" }, (p) =>
        p.on("request", (request) => {
          if (new URL(request.url()).pathname === "/v1/tokens") {
            minted.push(request.headers().authorization ?? "");
          }
        }),
      );
      expect(minted).toEqual([`Bearer ${KEY}`]);

      // The same page, a new fragment: no load, only a hashchange.
      await page.goto(consoleLink(hub.url, { key: other, channel: "two" }));
      await expect.poll(() => minted).toEqual([`Bearer ${KEY}`, `Bearer ${other}`]);
      await expect.poll(() => page.url()).not.toContain(other);
      expect(page.url()).toContain("channel=two");
      expect(await page.getByLabel("channel").inputValue()).toBe("two");
      await page.getByTestId("connection").filter({ hasText: "live" }).waitFor();
      // Nor is it left in the tab's history.
      await page.goBack();
      expect(page.url()).not.toContain(other);
      expect(page.url()).not.toContain(KEY);
    } finally {
      await hub.close();
    }
  });

  it("signs in with a #key= link opened on the sign-in form", async () => {
    const hub = await startHub();
    try {
      const page = await browser.newPage();
      await page.goto(`${hub.url}/`);
      await page.getByLabel("credential").waitFor();
      await page.goto(consoleLink(hub.url, { key: KEY, channel: "three" }));
      await page.getByTestId("connection").filter({ hasText: "live" }).waitFor({ timeout: 30_000 });
      expect(page.url()).not.toContain(KEY);
      expect(await page.getByLabel("channel").inputValue()).toBe("three");
    } finally {
      await hub.close();
    }
  });

  it("tells the reader to pick another channel when the hub refuses a channel's name", async () => {
    const hub = await startHub();
    try {
      const page = await browser.newPage();
      await page.goto(consoleLink(hub.url, { key: KEY, channel: "c".repeat(300) }));
      const failure = page.getByTestId("failure");
      await failure.waitFor({ timeout: 30_000 });
      const said = await failure.textContent();
      expect(said).toMatch(
        /^The hub refused the channel “c{300}”: .+\. Type another channel name above\.$/,
      );
      expect(said).not.toContain("Reload");
      expect(await page.getByTestId("connection").textContent()).toBe("stopped");

      await page.getByLabel("channel").fill("fine");
      await page.getByLabel("channel").press("Enter");
      await page.getByTestId("connection").filter({ hasText: "live" }).waitFor({ timeout: 30_000 });
      expect(await failure.count()).toBe(0);
    } finally {
      await hub.close();
    }
  });
});
