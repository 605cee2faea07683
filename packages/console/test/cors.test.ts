import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Hub } from "@chorus/hub";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumRuns, launchChromium, screenshot } from "./browser.js";
import { client, KEY, startHub } from "./helpers.js";

/**
 * A page of another site: it mints a token with the key it was given (a POST with
 * Authorization, so a real preflight) and reads a channel through `EventSource` with
 * `?access_token=`, the one way a browser stream can authenticate. Results land in the page's
 * `#log` and `window.received`.
 */
const PAGE = `<!doctype html><meta charset="utf-8"><title>Another site</title>
<pre id="log"></pre>
<script>
  window.received = [];
  window.status = "starting";
  const log = (line) => { document.getElementById("log").textContent += line + "\\n"; };
  window.watch = async (hub, key, channel) => {
    try {
      const res = await fetch(hub + "/v1/tokens", {
        method: "POST",
        headers: { authorization: "Bearer " + key, "content-type": "application/json" },
        body: JSON.stringify({ scopes: ["subscribe"], channels: [channel], ttlSeconds: 300 }),
      });
      const { token } = await res.json();
      log("token " + res.status);
      const source = new EventSource(
        hub + "/v1/channels/" + channel + "/stream?access_token=" + encodeURIComponent(token),
      );
      source.addEventListener("chorus.ready", () => { window.status = "live"; log("live"); });
      source.addEventListener("demo.note", (m) => {
        const e = JSON.parse(m.data);
        window.received.push(e.payload.text);
        log(e.type + " " + e.payload.text);
      });
    } catch (error) {
      window.status = "refused";
      log("refused: " + error);
    }
  };
</script>`;

/** What PAGE's script leaves on its window. */
interface PageGlobals {
  watch(hub: string, key: string, channel: string): Promise<void>;
  status: string;
  received: string[];
}

/** A static site on its own port: a different origin from the hub's. */
async function serveSite(): Promise<{ server: Server; origin: string }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(PAGE);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe.runIf(chromiumRuns)("a page on another origin, in Chromium", () => {
  let browser: Browser;
  let hub: Hub;
  let listed: { server: Server; origin: string };
  let unlisted: { server: Server; origin: string };
  beforeAll(async () => {
    listed = await serveSite();
    unlisted = await serveSite();
    hub = await startHub({ corsOrigins: listed.origin });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await hub?.close();
    listed?.server.close();
    unlisted?.server.close();
  });

  async function open(origin: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 900, height: 400 } });
    await page.goto(origin);
    await page.evaluate(
      ({ url, key }) => (globalThis as unknown as PageGlobals).watch(url, key, "research"),
      { url: hub.url, key: KEY },
    );
    return page;
  }

  it("in the allowlist: gets a token and reads the channel's stream with ?access_token=", async () => {
    const page = await open(listed.origin);
    await expect
      .poll(() => page.evaluate(() => (globalThis as unknown as PageGlobals).status))
      .toBe("live");
    const chorus = client(hub.url, "research");
    chorus.emit({ type: "demo.note", payload: { text: "hello from node" } });
    await chorus.flush();
    await expect
      .poll(() => page.evaluate(() => (globalThis as unknown as PageGlobals).received), {
        timeout: 30_000,
      })
      .toEqual(["hello from node"]);
    await screenshot(page, "cors-allowed-origin");
    await chorus.close();
  });

  it("not in the allowlist: the browser refuses it the hub's answers", async () => {
    const page = await open(unlisted.origin);
    await expect
      .poll(() => page.evaluate(() => (globalThis as unknown as PageGlobals).status))
      .toBe("refused");
    expect(await page.locator("#log").textContent()).toContain("Failed to fetch");
    await screenshot(page, "cors-refused-origin");
  });
});
