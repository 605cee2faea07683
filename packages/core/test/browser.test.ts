import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Hub } from "@chorus/hub";
import { build } from "esbuild";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumRuns, launchChromium, screenshot } from "../../../test/chromium.js";
import { BROWSER_BUDGET_GZ_BYTES, bundleForBrowser } from "../bench/browser-size.js";
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
    expect(bundle.entryModules.some((m) => /(^|\/)dist\/browser\/index\.js$/.test(m))).toBe(true);
    expect(bundle.entryModules).not.toContain("dist/index.js");
    // What a page loads up front carries neither mqtt.js, the SSE client, zod, nor core's
    // realtime machinery: each is a chunk loaded on first use.
    expect(
      bundle.entryModules.filter((m) => /mqtt|eventsource|zod|realtime-client/.test(m)),
    ).toEqual([]);
    // Two chunks loaded on first use: mqtt.js, and one with everything else (see first-use.ts).
    const lazy = bundle.lazy.map((chunk) => chunk.packages);
    expect(lazy).toHaveLength(2);
    expect(lazy).toContainEqual(["mqtt"]);
    expect(lazy).toContainEqual(
      expect.arrayContaining(["zod", "eventsource", "eventsource-parser", "@chorus/core"]),
    );
    expect(bundle.realtime.min).toBeGreaterThan(100_000);
    expect(bundle.entry.min).toBeLessThan(bundle.realtime.min);
    // zod's locales other than English stay out of every chunk (protocol uses zod/mini).
    expect(bundle.modules.some((m) => m.includes("zod/v4/locales/en.js"))).toBe(true);
    expect(bundle.modules.filter((m) => /zod\/v4\/locales\/(?!en\.js|index\.js)/.test(m))).toEqual(
      [],
    );
  });

  it("stays within the budget: what a page loads up front for every export is at most 15 KB gzipped", async () => {
    // The same measurement as `pnpm bench:size` (exact bytes, so a test rather than a bench).
    const bundle = await bundleForBrowser('export * from "@chorus/core";', PACKAGE_DIR);
    expect(bundle.nodeImports).toEqual([]);
    expect(bundle.entry.gz).toBeLessThanOrEqual(BROWSER_BUDGET_GZ_BYTES);
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
    // The page loads the entry as a page's bundler splits it (ESM, code splitting): realtime,
    // the SSE client and the schemas are chunks the page fetches from the hub on first use.
    pageDir = mkdtempSync(join(tmpdir(), "chorus-core-page-"));
    await build({
      stdin: { contents: 'export * from "@chorus/core";', resolveDir: PACKAGE_DIR, loader: "ts" },
      bundle: true,
      format: "esm",
      splitting: true,
      outdir: pageDir,
      entryNames: "core",
      platform: "browser",
      target: "es2022",
      logLevel: "silent",
    });
    // The hub serves the page (as it serves the console): a document from a real response,
    // at the hub's origin, as a user's page would be.
    // The hub serves its console folder with a policy that runs no inline script: the page
    // loads its script from a file, as the console does.
    writeFileSync(
      join(pageDir, "page.js"),
      'import * as core from "./core.js";\nglobalThis.ChorusCore = core;\n',
    );
    writeFileSync(
      join(pageDir, "index.html"),
      '<!doctype html><meta charset="utf-8"><script type="module" src="./page.js"></script><body>core</body>',
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

  it("loads schemas, SSE client and realtime on first use (mqtt.js apart); an invalid event emitted before the schemas arrive is dropped with a warning and the rest of its batch is delivered", async () => {
    const page = await browser.newPage();
    const fetched: string[] = [];
    page.on("request", (request) => fetched.push(new URL(request.url()).pathname));
    await page.goto(`${hub.url}/`);
    const chunks = () => fetched.filter((path) => path.endsWith(".js") && path !== "/core.js");
    // Up front the page loads the entry and what it imports statically; record that set.
    const upFront = chunks();
    const outcome = await page.evaluate(
      async ({ key }) => {
        const g = globalThis as PageGlobals;
        const warnings: string[] = [];
        const reported: string[] = [];
        const chorus = new g.ChorusCore.Chorus({
          url: g.location.origin,
          apiKey: key,
          channel: "page-invalid",
          logger: { debug() {}, info() {}, error() {}, warn: (message) => warnings.push(message) },
          onError: (error, context) => reported.push(`${context.operation}: ${String(error)}`),
        });
        const ids = [
          chorus.emit({ type: "custom", payload: { n: 1 } }),
          chorus.emit({ type: "custom", channel: "bad\u0001name", payload: { n: 2 } }),
          chorus.emit({ type: "custom", payload: { n: 3 } }),
        ];
        const delivered = await chorus.flush();
        const { sent, invalid, failed } = chorus.stats();
        // The schemas are loaded now: emit() refuses an invalid event at once, as in Node.
        const later = chorus.emit({ type: "custom", channel: "bad\u0001name" }) ?? null;
        await chorus.close();
        return { ids, delivered, sent, invalid, failed, later, warnings, reported };
      },
      { key: KEY_A },
    );
    expect(outcome.delivered).toBe(true);
    expect(outcome.sent).toBe(2);
    expect(outcome.invalid).toBe(1);
    expect(outcome.failed).toBe(0); // the hub never saw the invalid one: the batch went through
    expect(outcome.later).toBeNull();
    expect(
      outcome.warnings.filter((w) => w.startsWith("emit() dropped an invalid event")),
    ).toHaveLength(1);
    expect(outcome.reported).toEqual([
      expect.stringMatching(/^emit: .*channel/),
      expect.stringMatching(/^emit: .*channel/),
    ]);
    const stored = await storedEvents(hub, { channel: "page-invalid" });
    expect(stored.map((e) => e.id).sort()).toEqual([outcome.ids[0], outcome.ids[2]].sort());
    const afterEmit = chunks();
    expect(afterEmit.length).toBeGreaterThan(upFront.length); // the first-use chunk

    // That chunk holds the stream's code too: the first stream fetches nothing more.
    await page.evaluate(
      async ({ key }) => {
        const g = globalThis as PageGlobals;
        const chorus = new g.ChorusCore.Chorus({ url: g.location.origin, apiKey: key });
        const stream = chorus.stream.channel("page-lazy");
        await new Promise<void>((resolve) => stream.onConnection((up) => up && resolve()));
        stream.close();
        await chorus.close();
      },
      { key: KEY_A },
    );
    const afterStream = chunks();
    expect(afterStream).toEqual(afterEmit);
    await page.evaluate(
      async ({ key }) => {
        const g = globalThis as PageGlobals;
        const chorus = new g.ChorusCore.Chorus({ url: g.location.origin, apiKey: key });
        await chorus.realtime.connect();
        await chorus.close();
      },
      { key: KEY_A },
    );
    expect(chunks().length).toBeGreaterThan(afterStream.length); // mqtt.js
    await page.close();
  });

  it("a stream opened before the schemas loaded ends with the ValidationError of a bad name", async () => {
    const page = await openPage();
    const outcome = await page.evaluate(
      async ({ key }) => {
        const g = globalThis as PageGlobals;
        const chorus = new g.ChorusCore.Chorus({
          url: g.location.origin,
          apiKey: key,
          logger: false,
        });
        const stream = chorus.stream.channel("bad\u0001name");
        try {
          for await (const _ of stream) return "an event";
          return "ended";
        } catch (error) {
          const e = error as { name: string; field?: string };
          return `${e.name} ${e.field}`;
        } finally {
          await chorus.close();
        }
      },
      { key: KEY_A },
    );
    expect(outcome).toBe("ValidationError channel");
    await page.close();
  });

  it("a stream opened while the page cannot download the stream's code tries again, then connects and delivers", async () => {
    const page = await openPage();
    let requests = 0;
    await page.route("**/*first-use*", (route) =>
      requests++ === 0 ? route.abort() : route.continue(),
    );
    const outcome = await page.evaluate(
      async ({ key }) => {
        const g = globalThis as PageGlobals;
        const chorus = new g.ChorusCore.Chorus({
          url: g.location.origin,
          apiKey: key,
          logger: false,
        });
        const stream = chorus.stream.channel("page-stream-retry");
        const before = { connected: stream.connected, lastEventId: stream.lastEventId ?? null };
        // A listener added before the stream's code arrived is told when it connects.
        await new Promise<void>((resolve) => stream.onConnection((up) => up && resolve()));
        chorus.emit({ type: "custom", channel: "page-stream-retry", payload: { n: 1 } });
        await chorus.flush();
        let type = "";
        for await (const event of stream) {
          type = event.type;
          break; // ends the iteration, which closes the stream
        }
        const after = { connected: stream.connected, lastEventId: stream.lastEventId };
        await chorus.close();
        return { before, type, after };
      },
      { key: KEY_A },
    );
    expect(requests).toBeGreaterThan(1);
    expect(outcome.before).toEqual({ connected: false, lastEventId: null });
    expect(outcome.type).toBe("custom");
    expect(outcome.after.connected).toBe(false);
    expect(outcome.after.lastEventId).toBeGreaterThan(0);
    await page.close();
  });

  it("awaited events.* and intents.* calls fail open when the page cannot download what they load on first call", async () => {
    const page = await openPage();
    let blocked = 0;
    await page.route("**/*first-use*", (route) => {
      blocked++;
      return route.abort();
    });
    const outcome = await page.evaluate(
      async ({ key }) => {
        const g = globalThis as PageGlobals;
        const chorus = new g.ChorusCore.Chorus({
          url: g.location.origin,
          apiKey: key,
          logger: false,
        });
        const settle = (p: Promise<unknown>) =>
          p.then(
            (value) => ({ value: value === undefined ? "undefined" : value }),
            (error: Error) => ({ error: `${error.name}: ${error.message}` }),
          );
        const open = {
          list: await settle(chorus.events.list({ channel: "page-fail-open" })),
          publish: await settle(chorus.events.publish({ type: "custom" })),
          intent: await settle(chorus.intents.get("01JAAAAAAAAAAAAAAAAAAAAAAA")),
          intents: await settle(chorus.intents.list()),
        };
        // Without failOpen the same failure is a ConnectionError, as with the hub away.
        const strict = await settle(chorus.strict.intents.list());
        await chorus.close();
        return { open, strict };
      },
      { key: KEY_A },
    );
    expect(blocked).toBeGreaterThan(0);
    expect(outcome.open).toEqual({
      list: { value: { data: [] } },
      publish: { value: "undefined" },
      intent: { value: "undefined" },
      intents: { value: { data: [] } },
    });
    expect(outcome.strict).toEqual({ error: expect.stringMatching(/^ConnectionError: /) });
    await page.close();
  });

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
