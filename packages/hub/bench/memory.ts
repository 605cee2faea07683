import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sleep, waitFor } from "./clock.js";
import type { BenchConfig } from "./config.js";
import { type HubChild, startHubChild } from "./hub-child.js";
import { KEY_A } from "./keys.js";
import { postBodies } from "./publish.js";
import type { Receivers } from "./receivers-child.js";
import { fmt, median, spread, table, type Verdict } from "./stats.js";

const READERS = 50;
/** 1,000 events of 100 KB: a replay far larger than any buffer, as in the report. */
const EVENTS = 1_000;
const EVENT_BYTES = 100_000;
const MB = 1024 * 1024;

async function metric(hub: HubChild, name: string, labels: Record<string, string> = {}) {
  const text = await (await fetch(`${hub.url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).some(([k, v]) => !line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

/**
 * 50 SSE readers ask for a replay from the start of a 100 MB channel and never read. The hub
 * runs in its own process; its RSS is read from /proc before they connect and, at its peak,
 * while they sit there; the hub's own accounting (`chorus_send_buffer_bytes`) is shown beside.
 */
export async function memoryBench(config: BenchConfig, rx: Receivers): Promise<Verdict[]> {
  const rounds = Math.max(2, Math.ceil(config.rounds / 2));
  const dir = mkdtempSync(join(tmpdir(), "chorus-bench-memory-"));
  const db = join(dir, "hub.db");
  const added: number[] = [];
  const heap: number[] = [];
  const accounted: number[] = [];
  try {
    const filler = await startHubChild({ db });
    const payload = "m".repeat(EVENT_BYTES);
    const bodies: string[] = [];
    for (let i = 0; i < EVENTS; i += 30) {
      const events = Array.from({ length: Math.min(30, EVENTS - i) }, (_, k) => ({
        channel: "mem",
        type: "big",
        payload: { n: i + k, s: payload },
      }));
      bodies.push(JSON.stringify({ events }));
    }
    await postBodies(filler.url, KEY_A, bodies, 2);
    await filler.close();

    for (let round = 0; round < rounds; round++) {
      const hub = await startHubChild({ db });
      try {
        // Warm the replay path once so code loading is not billed to the readers.
        await (
          await fetch(`${hub.url}/v1/events?channel=mem&limit=5`, {
            headers: { authorization: `Bearer ${KEY_A}` },
          })
        ).arrayBuffer();
        await sleep(500);
        const before = hub.rss();
        const heapBefore = (await hub.memory()).heapUsed;
        await rx.pausedSse(`paused-${round}`, {
          port: hub.httpPort,
          key: KEY_A,
          path: "/v1/channels/mem/stream",
          n: READERS,
        });
        await waitFor(
          async () =>
            (await metric(hub, "chorus_delivery_connections", { kind: "sse_replay" })) >= READERS,
          30_000,
        );
        let peak = hub.rss();
        let peakHeap = 0;
        let peakAccounted = 0;
        for (let i = 0; i < 20; i++) {
          await sleep(100);
          peak = Math.max(peak, hub.rss());
          peakHeap = Math.max(peakHeap, (await hub.memory()).heapUsed);
          peakAccounted = Math.max(
            peakAccounted,
            await metric(hub, "chorus_send_buffer_bytes", { kind: "sse" }),
          );
        }
        added.push((peak - before) / MB);
        heap.push((peakHeap - heapBefore) / MB);
        accounted.push(peakAccounted / MB);
        await rx.close(`paused-${round}`);
      } finally {
        await hub.close();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    `\n### Memory: ${READERS} paused replay readers of ${fmt(EVENTS)} × 100 KB events, hub in its own process, ${rounds} rounds (fresh hub each)\n`,
  );
  console.log(
    table(
      ["hub RSS added (MB, /proc)", "hub heap added (MB)", "hub's own send-buffer accounting (MB)"],
      [[`**${spread(added, 1)}**`, spread(heap, 1), spread(accounted, 1)]],
    ),
  );
  return [
    {
      target: "50 paused replay readers add ≤ 100 MB to the hub",
      figure: `${spread(added, 1)} MB RSS`,
      met: median(added) <= 100,
    },
  ];
}
