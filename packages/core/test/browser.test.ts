import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Hub } from "@chorus/hub";
import { build } from "esbuild";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumRuns, launchChromium, screenshot } from "../../../test/chromium.js";
import { bundleForBrowser } from "../bench/browser-size.js";
import type * as Core from "../src/index.js";
import { client, closeAll, KEY_A, refusedPort, startHub, storedEvents } from "./helpers.js";

const ARTIFACTS = join(import.meta.dirname, "..", "test-output");
const PACKAGE_DIR = join(import.meta.dirname, "..");

/** What the test page exposes: the browser entry, as a page's bundler would resolve it. */
type PageGlobals = typeof globalThis & {
  ChorusCore: typeof Core;
  received: Array<{ seq: number; type: string; id: string }>;
  statuses: string[];
  location: { origin: string };
};

describe("the browser entry, bundled", () => {
  it("bundles for a browser without one Node built-in, with MQTT in a chunk loaded on first use", async () => {
    const bundle = await bundleForBrowser(
      'import { Chorus } from "@chorus/core"; export const c = new Chorus({ apiKey: "k" });',
      PACKAGE_DIR,
    );
    expect(bundle.nodeImports).toEqual([]);
    // The `browser` export condition chose the browser build, not the Node one.
    expect(bundle.entryModules.some((m) => /(^|\/)dist\/browser\.js$/.test(m))).toBe(true);
    expect(bundle.entryModules).not.toContain("dist/index.js");
    // The page's own chunk does not carry mqtt.js; realtime loads it.
    expect(bundle.inputs.map((i) => i.name)).toContain("mqtt");
    expect(bundle.realtime.min).toBeGreaterThan(100_000);
    expect(bundle.entry.min).toBeLessThan(bundle.realtime.min);
    // zod's locales other than English stay out (protocol uses zod/mini), and so does mqtt.js.
    expect(bundle.entryModules.some((m) => m.includes("zod/v4/locales/en.js"))).toBe(true);
    expect(
      bundle.entryModules.filter((m) => /zod\/v4\/locales\/(?!en\.js|index\.js)/.test(m)),
    ).toEqual([]);
    expect(bundle.entryModules.filter((m) => m.includes("/mqtt"))).toEqual([]);
  });

  it("refuses Node built-ins: the check sees one when a module asks for it", async () => {
    const bundle = await bundleForBrowser(
      'import "node:crypto"; export * from "@chorus/core";',
      PACKAGE_DIR,
    );
    expect(bundle.nodeImports).toEqual([expect.stringContaining("node:crypto")]);
  });
});

describe.runIf(chromiumRuns)("the browser entry in a real Chromium, against a real hub", () => {
  let hub: Hub;
  let browser: Browser;
  let pageDir: string;

  beforeAll(async () => {
    const result = await build({
      stdin: { contents: 'export * from "@chorus/core";', resolveDir: PACKAGE_DIR, loader: "ts" },
      bundle: true,
      format: "iife",
      globalName: "ChorusCore",
      platform: "browser",
      target: "es2022",
      write: false,
      logLevel: "silent",
    });
    // The hub serves the page (as it serves the console): a document from a real response,
    // at the hub's origin, as a user's page would be.
    pageDir = mkdtempSync(join(tmpdir(), "chorus-core-page-"));
    writeFileSync(join(pageDir, "core.js"), result.outputFiles[0]?.text ?? "");
    writeFileSync(
      join(pageDir, "index.html"),
      '<!doctype html><meta charset="utf-8"><script src="core.js"></script><body>core</body>',
    );
    browser = await launchChromium();
    hub = await startHub({ consoleDir: pageDir });
  });
  afterAll(async () => {
    await closeAll();
    await browser?.close();
    await hub?.close();
    rmSync(pageDir, { recursive: true, force: true });
  });

  /** A page at the hub's origin (as the console is) running the bundled entry. */
  async function openPage(): Promise<Page> {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(`${hub.url}/`);
    expect(errors).toEqual([]);
    return page;
  }

  it("emits from a page in batches; the hub stores every event once", async () => {
    const page = await openPage();
    const ids = await page.evaluate(
      async ({ key }) => {
        const g = globalThis as PageGlobals;
        const chorus = new g.ChorusCore.Chorus({
          url: g.location.origin,
          apiKey: key,
          channel: "page",
          flushIntervalMs: 20,
        });
        const out: Array<string | undefined> = [];
        for (let i = 0; i < 120; i++)
          out.push(chorus.emit({ type: "tool.start", agent: "page", payload: { i } }));
        const delivered = await chorus.flush();
        const stats = chorus.stats();
        await chorus.close();
        return { out, delivered, sent: stats.sent };
      },
      { key: KEY_A },
    );
    expect(ids.delivered).toBe(true);
    expect(ids.sent).toBe(120);
    expect(new Set(ids.out).size).toBe(120);
    const stored = await storedEvents(hub, { channel: "page", limit: "1000" });
    expect(stored.map((e: { id: string }) => e.id).sort()).toEqual([...ids.out].sort());
    await page.close();
  });

  it("stamps trace context in a page: withTrace holds for the synchronous part of its function", async () => {
    const page = await openPage();
    const ids = await page.evaluate(
      async ({ key }) => {
        const g = globalThis as PageGlobals;
        const chorus = new g.ChorusCore.Chorus({
          url: g.location.origin,
          apiKey: key,
          channel: "page-trace",
        });
        const out = chorus.withTrace(() => ({
          outer: chorus.emit({ type: "agent.start" }),
          inner: chorus.withTrace(() => chorus.emit({ type: "tool.start" })),
        }));
        const outside = chorus.emit({ type: "custom" });
        await chorus.close();
        return { ...out, outside };
      },
      { key: KEY_A },
    );
    const stored = await storedEvents(hub, { channel: "page-trace" });
    const byId = new Map(stored.map((e) => [e.id, e as typeof e & Partial<Core.ChorusEvent>]));
    const outer = byId.get(ids.outer ?? "");
    const inner = byId.get(ids.inner ?? "");
    expect(outer?.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(inner?.traceId).toBe(outer?.traceId);
    expect(inner?.parentSpanId).toBe(outer?.spanId);
    expect(byId.get(ids.outside ?? "")?.traceId).toBeUndefined();
    await page.close();
  });

  it("streams a channel, and a stream opened with { after } resumes with nothing missed or repeated", async () => {
    const page = await openPage();
    await page.evaluate(
      ({ key }) => {
        const g = globalThis as PageGlobals;
        g.received = [];
        const chorus = new g.ChorusCore.Chorus({ url: g.location.origin, apiKey: key });
        const stream = chorus.stream.channel("page-stream");
        void (async () => {
          for await (const event of stream)
            g.received.push({ seq: event.seq, type: event.type, id: event.id });
        })();
        return new Promise<void>((resolve) => stream.onConnection((up) => up && resolve()));
      },
      { key: KEY_A },
    );
    const node = client({ url: hub.url, channel: "page-stream" });
    for (let i = 0; i < 5; i++) node.emit({ type: "custom", payload: { i } });
    await node.flush();
    await expect
      .poll(() => page.evaluate(() => (globalThis as PageGlobals).received.length), {
        timeout: 20_000,
      })
      .toBe(5);
    const first = await page.evaluate(() => (globalThis as PageGlobals).received);

    // A second stream resuming after the second event gets exactly the three after it.
    const resumed = await page.evaluate(
      async ({ key, after }) => {
        const g = globalThis as PageGlobals;
        const chorus = new g.ChorusCore.Chorus({ url: g.location.origin, apiKey: key });
        const seqs: number[] = [];
        for await (const event of chorus.stream.channel("page-stream", { after })) {
          seqs.push(event.seq);
          if (seqs.length === 3) break;
        }
        await chorus.close();
        return seqs;
      },
      { key: KEY_A, after: first[1]?.seq ?? 0 },
    );
    expect(resumed).toEqual(first.slice(2).map((e) => e.seq));
    await page.close();
  });

  it("creates and changes an intent from a page; Node reads the result", async () => {
    const page = await openPage();
    const id = await page.evaluate(
      async ({ key }) => {
        const g = globalThis as PageGlobals;
        const chorus = new g.ChorusCore.Chorus({
          url: g.location.origin,
          apiKey: key,
          failOpen: false,
        });
        const intent = (await chorus.intents.create({
          title: "from a page",
          status: "active",
        })) as Core.Intent;
        await chorus.intents.patchState(intent.id, { step: 2 });
        return intent.id;
      },
      { key: KEY_A },
    );
    const node = client({ url: hub.url, failOpen: false });
    const intent = await node.intents.get(id);
    expect(intent?.state).toEqual({ step: 2 });
    expect(intent?.version).toBe(2);
    await page.close();
  });

  it("is fail-open in a page: with no hub, emit() and awaited calls never throw", async () => {
    const page = await openPage();
    const port = await refusedPort();
    const outcome = await page.evaluate(
      async ({ port }) => {
        const g = globalThis as PageGlobals;
        const chorus = new g.ChorusCore.Chorus({
          url: `http://127.0.0.1:${port}`,
          apiKey: "k".repeat(20),
          maxRetries: 0,
          logger: false,
        });
        const id = chorus.emit({ type: "custom" });
        const listed = await chorus.events.list({ channel: "x" });
        const intent = await chorus.intents.get("missing");
        await chorus.close(200);
        return { id: typeof id, listed, intent: intent === undefined };
      },
      { port },
    );
    expect(outcome).toEqual({ id: "string", listed: { data: [] }, intent: true });
    await page.close();
  });

  it("subscribes over MQTT-over-WebSocket from a page and receives what Node emits", async () => {
    const page = await openPage();
    await page.evaluate(
      async ({ key }) => {
        const g = globalThis as PageGlobals;
        g.received = [];
        const chorus = new g.ChorusCore.Chorus({ url: g.location.origin, apiKey: key });
        await chorus.realtime.subscribe({ channel: "page-live" }, (event) => {
          g.received.push({ seq: event.seq, type: event.type, id: event.id });
        });
      },
      { key: KEY_A },
    );
    const node = client({ url: hub.url, channel: "page-live" });
    const id = node.emit({ type: "agent.start", payload: {} });
    await node.flush();
    await expect
      .poll(() => page.evaluate(() => (globalThis as PageGlobals).received.map((e) => e.id)), {
        timeout: 20_000,
      })
      .toEqual([id]);
    await screenshot(page, ARTIFACTS, "core-browser-entry");
    await page.close();
  });
});
