import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Chorus } from "@chorus/core";
import type { Hub } from "@chorus/hub";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumRuns, launchChromium, screenshot } from "./browser.js";
import { client, KEY, openConsole, startHub } from "./helpers.js";

describe.runIf(chromiumRuns)("the console stays live in a real Chromium", () => {
  let browser: Browser;
  const dirs: string[] = [];
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it("shows an intent's state and status changes on the board as they happen", async () => {
    const hub = await startHub();
    try {
      const page = await openConsole(browser, hub.url, { view: "intents" });
      const chorus = client(hub.url, "work");
      const intent = await chorus.intents.create({
        title: "Write the launch post",
        status: "active",
        assignees: ["writer"],
        state: { stage: "draft" },
      });
      if (!intent) throw new Error("the hub did not create the intent");
      const card = page.locator(`[data-intent="${intent.id}"]`);
      await card.waitFor({ timeout: 30_000 });
      expect(await card.evaluate((el) => el.closest(".column")?.getAttribute("data-status"))).toBe(
        "active",
      );
      await card.click();
      await expect
        .poll(() => page.getByTestId("intent-state").textContent())
        .toContain('"stage": "draft"');

      await chorus.intents.patchState(intent.id, { stage: "review", words: 800 });
      await expect
        .poll(() => page.getByTestId("intent-state").textContent(), { timeout: 30_000 })
        .toContain('"stage": "review"');
      // The history shows the merge patch as a diff against the value it replaced.
      await expect
        .poll(() => page.locator(".step .minus").first().textContent())
        .toContain("draft");

      await chorus.intents.setStatus(intent.id, "completed");
      await expect
        .poll(() => page.getByTestId("intent-status").textContent(), { timeout: 30_000 })
        .toBe("completed");
      await expect
        .poll(() => card.evaluate((el) => el.closest(".column")?.getAttribute("data-status")))
        .toBe("completed");
      await screenshot(page, "intents-live");
      await chorus.close(1000);
    } finally {
      await hub.close();
    }
  });

  it("survives a hub restart on the same port and database: every event shown exactly once", async () => {
    const dir = mkdtempSync(join(tmpdir(), "chorus-console-restart-"));
    dirs.push(dir);
    const db = join(dir, "hub.sqlite");
    let hub: Hub = await startHub({ db });
    const port = Number(new URL(hub.url).port);
    const page = await openConsole(browser, hub.url, { channel: "restart" });
    // An agent that keeps emitting through the outage; its queue holds what the hub cannot take.
    const agent = new Chorus({
      url: hub.url,
      apiKey: KEY,
      channel: "restart",
      flushIntervalMs: 20,
      retryBaseDelayMs: 50,
      retryMaxDelayMs: 500,
      circuitCooldownMs: 100,
      circuitMaxCooldownMs: 500,
      logger: false,
      drainOnExit: false,
    });
    try {
      const rows = page.locator(".row.event");
      for (let i = 0; i < 3; i++) agent.emit({ type: "custom", payload: { phase: "before", i } });
      await agent.flush();
      await expect.poll(() => rows.count(), { timeout: 30_000 }).toBe(3);

      await hub.close();
      await page.getByTestId("away").waitFor({ timeout: 30_000 });
      await screenshot(page, "hub-away");
      for (let i = 0; i < 2; i++) agent.emit({ type: "custom", payload: { phase: "during", i } });

      hub = await startHub({ db, port });
      for (let i = 0; i < 2; i++) agent.emit({ type: "custom", payload: { phase: "after", i } });
      expect(await agent.flush(30_000)).toBe(true);

      await page.getByTestId("connection").filter({ hasText: "live" }).waitFor({ timeout: 60_000 });
      await expect
        .poll(() => page.getByTestId("event-count").textContent(), { timeout: 60_000 })
        .toBe("7 events");
      const shown = await rows.evaluateAll((els) => els.map((el) => el.getAttribute("data-seq")));
      const stored = (await (
        await fetch(`${hub.url}/v1/events?channel=restart&limit=100`, {
          headers: { authorization: `Bearer ${KEY}` },
        })
      ).json()) as { data: Array<{ seq: number }> };
      expect(stored.data).toHaveLength(7);
      expect(new Set(shown).size).toBe(shown.length);
      expect([...shown].sort()).toEqual(stored.data.map((e) => String(e.seq)).sort());
      expect(await page.getByTestId("away").count()).toBe(0);
      await screenshot(page, "hub-back");
    } finally {
      await agent.close(1000);
      await hub.close();
    }
  });
});
