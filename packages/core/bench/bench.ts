import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Chorus, type ChorusOptions } from "../src/index.js";
import {
  BENCH_KEY,
  refusedUrl,
  startHangingServer,
  startHubProcess,
  toolEvent as event,
} from "./servers.js";
import { measure, type OpCost } from "./stats.js";

/*
 * `pnpm bench` (node --expose-gc dist/bench/bench.js). Every figure is printed beside a baseline
 * measured in the same run, so the ratios hold across machines even if the absolute numbers
 * do not. See README.md ("Performance") for the method.
 */

// The package root, from dist/bench/bench.js.
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const SAMPLE = { blocks: 2000, blockSize: 100, warmupBlocks: 200 };
const THROUGHPUT_EVENTS = 100_000;
const OUTAGE_EMITS = 1_000_000;

function makeClient(url: string, extra: ChorusOptions = {}): Chorus {
  return new Chorus({
    url,
    apiKey: BENCH_KEY,
    channel: "bench",
    logger: false,
    drainOnExit: false,
    ...extra,
  });
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const signedMb = (bytes: number) => `${bytes >= 0 ? "+" : ""}${mb(bytes)}`;
const ns = (n: number) => `${n.toFixed(0)} ns`;

async function main(): Promise<void> {
  const rows: [string, string, string, string][] = [];
  const memoryRows: [string, string, string, string][] = [];
  const memoryRow = (what: string, value: string, baseline: string, ratio: string) =>
    memoryRows.push([what, value, baseline, ratio]);
  const row = (what: string, value: string, baseline: string, ratio: string) =>
    rows.push([what, value, baseline, ratio]);

  const hub = await startHubProcess(root);
  const hang = await startHangingServer();
  const down = await refusedUrl();
  try {
    // Memory first, on a fresh heap: a million emits while the hub is down stay within the queue's bounds.
    {
      gc();
      const before = process.memoryUsage();
      const chorus = makeClient(down);
      let quarter: NodeJS.MemoryUsage | undefined;
      for (let i = 0; i < OUTAGE_EMITS; i++) {
        chorus.emit(event(i));
        if (i % 10_000 === 9_999) await new Promise((r) => setImmediate(r));
        if (i === OUTAGE_EMITS / 4 - 1) {
          gc();
          quarter = process.memoryUsage();
        }
      }
      gc();
      const after = process.memoryUsage();
      const stats = chorus.stats();
      memoryRow(
        "RSS after 1,000,000 emits, hub down",
        mb(after.rss),
        `before: ${mb(before.rss)}`,
        signedMb(after.rss - before.rss),
      );
      memoryRow(
        "heap used after 1,000,000 emits, hub down",
        mb(after.heapUsed),
        `before: ${mb(before.heapUsed)}`,
        signedMb(after.heapUsed - before.heapUsed),
      );
      memoryRow(
        "RSS after 250,000 → 1,000,000 emits",
        `${mb(quarter?.rss ?? 0)} → ${mb(after.rss)}`,
        "flat = bounded",
        signedMb(after.rss - (quarter?.rss ?? 0)),
      );
      memoryRow(
        "heap used after 250,000 → 1,000,000 emits",
        `${mb(quarter?.heapUsed ?? 0)} → ${mb(after.heapUsed)}`,
        "flat = bounded",
        signedMb(after.heapUsed - (quarter?.heapUsed ?? 0)),
      );
      memoryRow(
        "queue after 1,000,000 emits, hub down",
        `${stats.queued.toLocaleString("en-US")} queued, ${mb(stats.queuedBytes)}`,
        `bound: ${chorus.options.maxQueueSize.toLocaleString("en-US")} / ${mb(chorus.options.maxQueueBytes)}`,
        `${stats.dropped.toLocaleString("en-US")} dropped (oldest)`,
      );
      await chorus.close(0);
    }
    // Baseline: the cheapest thing a hot path can do with an event object.
    const array: unknown[] = [];
    const template = event(0);
    const baseline = await measure(() => {
      array.push(template);
      if (array.length >= 10_000) array.length = 0;
    }, SAMPLE);
    row("array.push(event) p50 / p99", `${ns(baseline.p50)} / ${ns(baseline.p99)}`, "-", "1x");

    const emitCost = async (label: string, url: string, extra: ChorusOptions = {}) => {
      const chorus = makeClient(url, extra);
      const cost: OpCost = await measure((i) => void chorus.emit(event(i)), SAMPLE);
      row(
        `emit() p50 / p99, ${label}`,
        `${ns(cost.p50)} / ${ns(cost.p99)}`,
        `${ns(baseline.p50)} / ${ns(baseline.p99)}`,
        `${(cost.p50 / baseline.p50).toFixed(0)}x / ${(cost.p99 / baseline.p99).toFixed(0)}x`,
      );
      await chorus.close(0);
      return cost;
    };
    const up = await emitCost("hub up", hub.url);
    await emitCost("hub down (refused)", down);
    await emitCost("hub hangs (no answer)", hang.url, { timeoutMs: 10_000 });

    // Throughput: emit as fast as the loop allows, then wait for the hub to acknowledge all.
    {
      const chorus = makeClient(hub.url, {
        maxQueueSize: THROUGHPUT_EVENTS,
        maxQueueBytes: 512 * 1024 * 1024,
        maxBatchSize: 1000,
      });
      const started = process.hrtime.bigint();
      for (let i = 0; i < THROUGHPUT_EVENTS; i++) {
        chorus.emit(event(i));
        if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
      }
      const drained = await chorus.flush(120_000);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const stats = chorus.stats();
      row(
        "delivery throughput to a local hub",
        `${Math.round(stats.sent / seconds).toLocaleString("en-US")} events/s`,
        `${THROUGHPUT_EVENTS.toLocaleString("en-US")} events`,
        drained && stats.sent === THROUGHPUT_EVENTS ? "all acknowledged" : `sent ${stats.sent}`,
      );
      row(
        "emit() budget per event at that rate",
        `${ns(1e9 / (stats.sent / seconds))}`,
        `emit p50 ${ns(up.p50)}`,
        `${((up.p50 / (1e9 / (stats.sent / seconds))) * 100).toFixed(0)}% of it`,
      );
      await chorus.close(0);
    }
  } finally {
    await Promise.all([hub.stop(), hang.stop()]);
  }

  rows.push(...memoryRows);
  printTable(["measure", "value", "baseline (same run)", "ratio / note"], rows);
  console.log(
    `\nnode ${process.version}, ${process.platform}/${process.arch}; ` +
      `${SAMPLE.blocks} blocks of ${SAMPLE.blockSize} ops after ${SAMPLE.warmupBlocks} warm-up blocks; gc ${
        (globalThis as { gc?: unknown }).gc ? "exposed" : "NOT exposed (run with --expose-gc)"
      }`,
  );
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)));
  const line = (cells: string[]) =>
    `| ${cells.map((cell, c) => cell.padEnd(widths[c] as number)).join(" | ")} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const r of rows) console.log(line(r));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
