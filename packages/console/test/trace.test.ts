import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Hub } from "@chorus/hub";
import type { ChorusEvent } from "@chorus/protocol";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumRuns, launchChromium, screenshot } from "./browser.js";
import { client, cspViolations, KEY, openConsole, startHub } from "./helpers.js";

const ROOT = join(import.meta.dirname, "..", "..", "..");
const DEMO = join(ROOT, "examples", "research-team");
const CHANNEL = "research-team";

/** The demo runs from source (tsx) on the built framework packages; build them if needed. */
function buildDemoDependencies(): void {
  const built = ["agents", "langchain", "openai-agents", "anthropic"].every((name) =>
    existsSync(join(ROOT, "packages", name, "dist", "index.js")),
  );
  if (built) return;
  execFileSync("pnpm", ["--filter", "@chorus-examples/research-team^...", "run", "build"], {
    cwd: ROOT,
    stdio: "ignore",
  });
}

/** `pnpm demo` against this hub, offline models, as CI runs it. */
async function runDemo(hub: Hub): Promise<void> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CHORUS_URL: hub.url,
    CHORUS_API_KEY: KEY,
    CHORUS_CHANNEL: CHANNEL,
    NO_COLOR: "1",
  };
  delete env.OPENAI_API_KEY;
  delete env.ANTHROPIC_API_KEY;
  const child = spawn(process.execPath, ["--import", "tsx", "src/index.ts"], {
    cwd: DEMO,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  if (code !== 0) throw new Error(`the demo exited ${code}:\n${out}`);
}

async function storedEvents(hub: Hub, query: string): Promise<ChorusEvent[]> {
  const res = await fetch(`${hub.url}/v1/events?${query}&limit=1000`, {
    headers: { authorization: `Bearer ${KEY}` },
  });
  return ((await res.json()) as { data: ChorusEvent[] }).data;
}

/** Depth of every span of a trace, from the stored events' `parentSpanId`s. */
function depths(events: ChorusEvent[]): Map<string, number> {
  const parent = new Map<string, string | undefined>();
  for (const e of events)
    if (e.spanId && !parent.has(e.spanId)) parent.set(e.spanId, e.parentSpanId);
  const depth = (span: string, seen = 0): number => {
    const up = parent.get(span);
    return up !== undefined && parent.has(up) && seen < 64 ? 1 + depth(up, seen + 1) : 0;
  };
  return new Map([...parent.keys()].map((span) => [span, depth(span)]));
}

describe.runIf(chromiumRuns)("the trace view of the demo's run", () => {
  let hub: Hub;
  let browser: Browser;
  beforeAll(async () => {
    buildDemoDependencies();
    browser = await launchChromium();
    hub = await startHub();
    await runDemo(hub);
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await hub?.close();
  });

  it("shows the run's spans nested by parentSpanId", async () => {
    // The deepest trace of the run, as the hub stored it.
    const events = await storedEvents(hub, `channel=${CHANNEL}`);
    const traces = new Map<string, ChorusEvent[]>();
    for (const e of events)
      if (e.traceId) traces.set(e.traceId, [...(traces.get(e.traceId) ?? []), e]);
    const [traceId, traceEvents] = [...traces].sort(
      (a, b) => Math.max(...depths(b[1]).values()) - Math.max(...depths(a[1]).values()),
    )[0] ?? ["", []];
    const expected = depths(traceEvents);
    expect(Math.max(...expected.values())).toBeGreaterThanOrEqual(1);

    const page = await openConsole(browser, hub.url, { channel: CHANNEL, view: "trace" });
    await page.evaluate((id) => {
      (globalThis as unknown as { location: { hash: string } }).location.hash =
        `channel=research-team&view=trace&trace=${id}`;
    }, traceId);
    const rows = page.locator(".wf-row");
    await expect.poll(() => rows.count(), { timeout: 30_000 }).toBe(expected.size);
    const shown = await rows.evaluateAll((els) =>
      els.map((el) => ({
        span: el.getAttribute("data-span") ?? "",
        depth: Number(el.getAttribute("data-depth")),
      })),
    );
    // Every span at the depth its parent chain gives it, right under its parent's subtree.
    for (const [i, row] of shown.entries()) {
      expect(row.depth, row.span).toBe(expected.get(row.span));
      if (row.depth === 0) continue;
      const parentRow = shown
        .slice(0, i)
        .reverse()
        .find((r) => r.depth === row.depth - 1);
      const parentSpan = traceEvents.find((e) => e.spanId === row.span)?.parentSpanId;
      expect(parentRow?.span).toBe(parentSpan);
    }
    await rows.filter({ hasText: "llm" }).first().click();
    await expect.poll(() => page.getByTestId("span-detail").textContent()).toContain("tokens");
    await screenshot(page, "trace-demo");
    // The waterfall's indents and bars are styles set from script: the page's policy allows them.
    expect(await cspViolations(page)).toEqual([]);
  });

  it("charts the demo's LLM usage, and counts a call made after the page opened", async () => {
    const calls = (await storedEvents(hub, `channel=${CHANNEL}`)).filter(
      (e) => e.type === "llm.end",
    ).length;
    expect(calls).toBeGreaterThan(0);
    const page = await openConsole(browser, hub.url, { channel: CHANNEL, view: "usage" });
    const usage = page.getByTestId("usage");
    await usage.waitFor({ timeout: 30_000 });
    const callCount = usage.locator(".stats div", { hasText: "LLM calls" }).locator("strong");
    await expect.poll(() => callCount.textContent(), { timeout: 30_000 }).toBe(String(calls));
    expect(await usage.locator("canvas").count()).toBeGreaterThanOrEqual(2); // the two charts
    const chorus = client(hub.url, CHANNEL);
    chorus.emit({
      type: "llm.end",
      agent: "late-agent",
      payload: { model: "late-model", usage: { inputTokens: 7, outputTokens: 3 } },
    });
    await chorus.flush();
    await expect.poll(() => callCount.textContent(), { timeout: 30_000 }).toBe(String(calls + 1));
    await usage.locator("td", { hasText: "late-model" }).first().waitFor();
    await screenshot(page, "usage-demo");
    expect(await cspViolations(page)).toEqual([]);
    await chorus.close(1000);
  });

  it("shows the demo's run in the timeline, as the root README's picture does", async () => {
    const events = await storedEvents(hub, `channel=${CHANNEL}`);
    const page = await openConsole(browser, hub.url, { channel: CHANNEL });
    const tool = events.find((e) => e.type === "tool.start");
    if (!tool) throw new Error("the demo emitted no tool.start");
    const row = page.locator(".row.event").filter({ hasText: "tool.start" }).first();
    await row.waitFor({ timeout: 30_000 });
    await row.click();
    await expect
      .poll(() => page.getByTestId("event-detail").textContent())
      .toContain(String(tool.payload?.name));
    // docs/console.png is this picture: `cp packages/console/test-output/demo-timeline.png docs/console.png`
    await screenshot(page, "demo-timeline");
    expect(await cspViolations(page)).toEqual([]);
  });
});
