import type { Hub } from "@chorus/hub";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumRuns, launchChromium, screenshot } from "./browser.js";
import { client, KEY, openConsole, startHub } from "./helpers.js";

describe.runIf(chromiumRuns)("the timeline in a real Chromium", () => {
  let hub: Hub;
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
    hub = await startHub();
  });
  afterAll(async () => {
    await browser?.close();
    await hub?.close();
  });

  it("signs in through the #key= link, drops the key from the address, and shows events as Node emits them", async () => {
    const page = await openConsole(browser, hub.url, { channel: "research" });
    expect(page.url()).not.toContain(KEY);
    expect(page.url()).toContain("channel=research");

    const chorus = client(hub.url, "research");
    chorus.emit({ type: "agent.start", agent: "researcher", payload: { name: "researcher" } });
    chorus.emit({
      type: "tool.start",
      agent: "researcher",
      payload: { name: "search", arguments: { q: "bees" } },
    });
    chorus.emit({
      type: "tool.error",
      agent: "researcher",
      payload: { name: "search", error: "timeout" },
    });
    await chorus.flush();

    const rows = page.locator(".row.event");
    await expect.poll(() => rows.count(), { timeout: 30_000 }).toBe(3);
    await expect
      .poll(() => page.locator(".row.event.fam-error .type").textContent())
      .toBe("tool.error");

    await rows.nth(1).click();
    await expect
      .poll(() => page.getByTestId("event-detail").textContent())
      .toContain('"q": "bees"');
    await screenshot(page, "timeline");
    await chorus.close(1000);
  });

  it("filters by type and pauses, then shows what arrived meanwhile", async () => {
    const page = await openConsole(browser, hub.url, { channel: "filters" });
    const chorus = client(hub.url, "filters");
    chorus.emit({
      type: "llm.end",
      agent: "writer",
      payload: { model: "m", usage: { inputTokens: 5, outputTokens: 2 } },
    });
    chorus.emit({ type: "custom", agent: "writer", payload: {} });
    await chorus.flush();
    const rows = page.locator(".row.event");
    await expect.poll(() => rows.count(), { timeout: 30_000 }).toBe(2);

    await page.getByLabel("type").selectOption("llm.end");
    await expect.poll(() => rows.count()).toBe(1);
    await page.getByLabel("type").selectOption("");

    await page.getByRole("button", { name: /Pause/ }).click();
    chorus.emit({ type: "custom", agent: "writer", payload: { n: 3 } });
    await chorus.flush();
    await page.getByRole("button", { name: /Resume \(1 new\)/ }).waitFor({ timeout: 30_000 });
    expect(await rows.count()).toBe(2);
    await page.getByRole("button", { name: /Resume/ }).click();
    await expect.poll(() => rows.count()).toBe(3);
    await chorus.close(1000);
  });

  it("keeps 10,000 events in a list of a few dozen DOM rows", async () => {
    const chorus = client(hub.url, "bulk");
    for (let i = 0; i < 10_000; i++)
      chorus.emit({ type: "custom", agent: `a${i % 7}`, payload: { i } });
    await chorus.flush(30_000);
    const page = await openConsole(browser, hub.url, { channel: "bulk" });
    await expect
      .poll(() => page.getByTestId("event-count").textContent(), { timeout: 60_000 })
      .toBe("10,000 events");
    expect(await page.locator(".row.event").count()).toBeLessThan(200);
    await page.locator(".vlist").evaluate((el) => {
      el.scrollTop = el.scrollHeight / 2;
    });
    await expect
      .poll(() => page.locator(".row.event").first().getAttribute("data-seq"))
      .not.toBe("1");
    await screenshot(page, "timeline-10k");
    await chorus.close(1000);
  });
});
