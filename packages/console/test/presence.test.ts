import { defineAgent, runAgent } from "@chorus/agents";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumRuns, launchChromium, screenshot } from "./browser.js";
import { client, openConsole, startHub } from "./helpers.js";

describe.runIf(chromiumRuns)("presence in the console, in a real Chromium", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("shows a real agent runner online while it runs, and offline once it stops, pushed by the hub without polling", async () => {
    const hub = await startHub();
    const chorus = client(hub.url, "work");
    try {
      // Every request the page makes for presence: one stream, nothing asked again.
      const asked: string[] = [];
      const page = await openConsole(browser, hub.url, { view: "intents" }, (p) =>
        p.on("request", (request) => {
          if (new URL(request.url()).pathname === "/v1/agents") {
            asked.push(request.headers().accept ?? "");
          }
        }),
      );
      const agents = page.getByTestId("agents");
      await agents.waitFor();
      const scout = agents.locator("li", { hasText: "scout" });
      expect(await scout.count()).toBe(0); // never connected: not listed

      const definition = defineAgent({
        id: "scout",
        handlers: { onAssignment: async () => ({ stage: "scouting" }) },
      });
      const running = await runAgent(definition, { chorus, logger: false });
      const intent = await chorus.intents.create({
        title: "Scout the venue",
        assignees: ["scout"],
      });
      if (!intent) throw new Error("the hub did not create the intent");
      // The agents list and the intent's card both say who is online, without a reload.
      await scout.filter({ hasText: "online" }).waitFor({ timeout: 30_000 });
      expect(await scout.locator(".who").getAttribute("class")).toContain("online");
      const card = page.locator(`[data-intent="${intent.id}"]`);
      await card.locator(".who.online", { hasText: "scout" }).waitFor({ timeout: 30_000 });
      await scout.filter({ hasText: "holds 1" }).waitFor({ timeout: 30_000 });
      await screenshot(page, "presence-online");

      await running.stop();
      await scout.filter({ hasText: "last seen" }).waitFor({ timeout: 30_000 });
      expect(await scout.locator(".who").getAttribute("class")).not.toContain("online");
      await card.locator(".who:not(.online)", { hasText: "scout" }).waitFor({ timeout: 30_000 });
      await screenshot(page, "presence-offline");
      expect(asked).toEqual(["text/event-stream"]);
    } finally {
      await chorus.close(1000);
      await hub.close();
    }
  });
});
