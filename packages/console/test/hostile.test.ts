import type { Hub } from "@chorus/hub";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumRuns, launchChromium } from "./browser.js";
import { KEY, openConsole, startHub } from "./helpers.js";

const TRACE = "0af7651916cd43dd8448eb211c80319c";
const SPAN = "b7ad6b7169203331";

/** Publish events as any HTTP client may: payloads are whatever JSON it sends. */
async function publish(hub: Hub, events: Record<string, unknown>[]): Promise<void> {
  const res = await fetch(`${hub.url}/v1/events`, {
    method: "POST",
    headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
    body: JSON.stringify({ events }),
  });
  expect(res.status, await res.text()).toBe(202);
}

/** The page's uncaught errors, from now on. */
function pageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  return errors;
}

/** The summary column of the timeline's rows, top to bottom. */
function sums(page: Page): Promise<string[]> {
  return page.locator(".row.event .sum").allTextContents();
}

describe.runIf(chromiumRuns)("events with payloads of the wrong type, in a real Chromium", () => {
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

  it("draws them as harmless text in every view, counts no token that is not a number, and keeps showing later events", async () => {
    const page = await openConsole(browser, hub.url, { channel: "hostile" });
    const errors = pageErrors(page);
    const evil = { toString: 1 };
    await publish(hub, [
      {
        channel: "hostile",
        type: "llm.start",
        traceId: TRACE,
        spanId: SPAN,
        payload: { model: "m", tools: [evil, "search", 7, null] },
      },
      {
        channel: "hostile",
        type: "llm.end",
        agent: "writer",
        traceId: TRACE,
        spanId: SPAN,
        payload: { model: "m", usage: { inputTokens: evil, outputTokens: "12" } },
      },
      {
        channel: "hostile",
        type: "llm.end",
        agent: "writer",
        payload: { model: "m", usage: { inputTokens: 5, outputTokens: 2 } },
      },
      { channel: "hostile", type: "agent.start", payload: { name: ["x"], latencyMs: "12" } },
      { channel: "hostile", type: "tool.start", payload: { name: evil, arguments: evil } },
      { channel: "hostile", type: "custom", payload: { text: evil, message: 7 } },
    ]);
    await expect
      .poll(() => page.getByTestId("event-count").textContent(), { timeout: 30_000 })
      .toBe("6 events");
    expect(await sums(page)).toEqual([
      'm · tools: {"toString":1}, search, 7, null',
      "m · 0→0 tok",
      "m · 5→2 tok",
      "",
      'tool {"toString":1}',
      '{"text":{"toString":1},"message":7}',
    ]);

    // The stream goes on: an event published afterwards is shown.
    await publish(hub, [{ channel: "hostile", type: "custom", payload: { text: "after" } }]);
    await expect.poll(() => page.getByTestId("event-count").textContent()).toBe("7 events");
    expect((await sums(page)).at(-1)).toBe("after");

    // Usage: the call with unreadable counts is a call with no tokens, never summed as text.
    await page.locator("nav a", { hasText: "Usage" }).click();
    const stats = await page.getByTestId("usage").locator(".stats strong").allTextContents();
    expect(stats.slice(0, 3)).toEqual(["2", "5", "2"]);
    expect(
      await page.getByTestId("usage").locator(":scope > table tbody td").allTextContents(),
    ).toEqual(["writer · m", "2", "5", "2"]);

    // Trace: the span's counts are not numbers, so it shows none.
    await page.locator("nav a", { hasText: "Trace" }).click();
    const row = page.locator(`[data-span="${SPAN}"]`);
    await row.waitFor();
    expect(await row.locator(".wf-label").textContent()).not.toContain("tok");
    await row.click();
    expect(await page.getByTestId("span-detail").locator("dt").allTextContents()).not.toContain(
      "tokens",
    );
    expect(await page.getByRole("alert").count()).toBe(0);
    expect(errors).toEqual([]);
  });

  it("replaces a row or view that throws while drawing with a short error, and the stream goes on", async () => {
    // Drawing the time of this one event throws, as any unforeseen bug in a view would.
    const cursed = "2001-02-03T04:05:06.789Z";
    const page = await openConsole(browser, hub.url, { channel: "cursed" }, (p) =>
      p.addInitScript((at) => {
        const cursedMs = Date.parse(at);
        const getHours = Date.prototype.getHours;
        Date.prototype.getHours = function (this: Date) {
          if (this.getTime() === cursedMs) throw new Error("drawing failed on purpose");
          return getHours.call(this);
        };
      }, cursed),
    );
    const errors = pageErrors(page);
    await publish(hub, [
      { channel: "cursed", type: "custom", payload: { text: "first" } },
      {
        channel: "cursed",
        type: "custom",
        traceId: TRACE,
        occurredAt: cursed,
        payload: { text: "cursed" },
      },
      { channel: "cursed", type: "custom", payload: { text: "third" } },
    ]);
    await expect
      .poll(() => page.getByTestId("event-count").textContent(), { timeout: 30_000 })
      .toBe("3 events");
    const broken = page.getByTestId("row-error");
    await expect.poll(() => broken.count()).toBe(1);
    expect(await broken.locator(".sum").textContent()).toBe(
      "this event could not be shown: drawing failed on purpose",
    );
    expect(await sums(page)).toEqual([
      "first",
      "this event could not be shown: drawing failed on purpose",
      "third",
    ]);

    await publish(hub, [{ channel: "cursed", type: "custom", payload: { text: "later" } }]);
    await expect.poll(() => page.getByTestId("event-count").textContent()).toBe("4 events");
    expect((await sums(page)).at(-1)).toBe("later");

    // The Trace view lists the trace by its start time: it cannot draw, and says so in place.
    await page.locator("nav a", { hasText: "Trace" }).click();
    await expect
      .poll(() => page.getByTestId("view-error").textContent())
      .toContain("The trace view could not be drawn: drawing failed on purpose.");
    expect(await page.getByTestId("connection").textContent()).toBe("live");

    // The other views still work, and still follow the stream.
    await page.locator("nav a", { hasText: "Timeline" }).click();
    await publish(hub, [{ channel: "cursed", type: "custom", payload: { text: "last" } }]);
    await expect.poll(() => page.getByTestId("event-count").textContent()).toBe("5 events");
    expect(await page.getByTestId("view-error").count()).toBe(0);
    expect(errors).toEqual([]);
  });

  it("draws a 200 KB text or error message as one short line in its row", async () => {
    const page = await openConsole(browser, hub.url, { channel: "wide" });
    const long = "x".repeat(200 * 1024);
    await publish(hub, [
      { channel: "wide", type: "custom", payload: { text: long } },
      { channel: "wide", type: "tool.error", payload: { name: "s", error: { message: long } } },
    ]);
    await expect
      .poll(() => page.getByTestId("event-count").textContent(), { timeout: 30_000 })
      .toBe("2 events");
    expect(await sums(page)).toEqual([`${"x".repeat(199)}…`, `s: ${"x".repeat(196)}…`]);
  });
});
