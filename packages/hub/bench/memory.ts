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

/** What one layout of readers measured, per round. */
interface Sample {
  added: number[];
  heap: number[];
  accounted: number[];
}

/**
 * 50 SSE readers ask for a replay of a 100 MB channel and never read: all from its start (the
 * issue's case: a team's consoles opening one channel), and again each from its own cursor, 20
 * events apart (no two read the same page). The hub runs in its own process; its RSS is read from
 * /proc before they connect and, at its peak, while they sit there; the hub's own accounting
 * (`chorus_send_buffer_bytes`) is shown beside.
 */
export async function memoryBench(config: BenchConfig, rx: Receivers): Promise<Verdict[]> {
  const rounds = Math.max(2, Math.ceil(config.rounds / 2));
  const dir = mkdtempSync(join(tmpdir(), "chorus-bench-memory-"));
  const db = join(dir, "hub.db");
  const layouts = [
    { name: "all from the start", spacing: 0 },
    { name: "each from its own cursor, 20 events apart", spacing: 20 },
  ];
  const samples: Sample[] = layouts.map(() => ({ added: [], heap: [], accounted: [] }));
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
      for (let k = 0; k < layouts.length; k++) {
        const index = (round + k) % layouts.length;
        const layout = layouts[index] as (typeof layouts)[number];
        const sample = samples[index] as Sample;
        const hub = await startHubChild({ db });
        const group = `paused-${round}-${index}`;
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
          await rx.pausedSse(group, {
            port: hub.httpPort,
            key: KEY_A,
            path: "/v1/channels/mem/stream",
            n: READERS,
            spacing: layout.spacing,
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
          sample.added.push((peak - before) / MB);
          sample.heap.push((peakHeap - heapBefore) / MB);
          sample.accounted.push(peakAccounted / MB);
          await rx.close(group);
        } finally {
          await hub.close();
        }
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
      [
        "readers",
        "hub RSS added (MB, /proc)",
        "hub heap added (MB)",
        "hub's own send-buffer accounting (MB)",
      ],
      layouts.map((layout, i) => {
        const s = samples[i] as Sample;
        return [
          layout.name,
          `**${spread(s.added, 1)}**`,
          spread(s.heap, 1),
          spread(s.accounted, 1),
        ];
      }),
    ),
  );
  const same = samples[0] as Sample;
  return [
    {
      target: "50 paused replay readers add ≤ 100 MB to the hub",
      figure: `${spread(same.added, 1)} MB RSS`,
      met: median(same.added) <= 100,
    },
  ];
}
