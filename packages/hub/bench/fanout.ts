import type { BenchConfig } from "./config.js";
import { cpuSeconds } from "./cpu.js";
import { startHubChild } from "./hub-child.js";
import { KEY_A } from "./keys.js";
import { publishAtRate } from "./publish.js";
import type { Receivers } from "./receivers-child.js";
import { fmt, median, percentile, sorted, spread, table, type Verdict } from "./stats.js";

const SUBSCRIBERS = 1_000;
const RATE = 500;
/** Connections that also parse each event for its send time (all of them check ids and count). */
const LATENCY_SAMPLE = 50;

/**
 * 1,000 SSE subscribers on one channel (in the receivers process) while single-event POSTs
 * arrive at 500/s: every subscriber must get every event, in order.
 */
export async function fanoutBench(config: BenchConfig, rx: Receivers): Promise<Verdict[]> {
  const seconds = config.quick ? 4 : 10;
  const count = RATE * seconds;
  const rounds = Math.max(2, Math.ceil(config.rounds / 2));
  const hub = await startHubChild();
  const p50s: number[] = [];
  const p99s: number[] = [];
  const rates: number[] = [];
  const cpu: number[] = [];
  const rxCpu: number[] = [];
  const notes: string[] = [];
  let complete = true;
  try {
    await rx.sse("fan", {
      url: hub.url,
      key: KEY_A,
      path: "/v1/channels/fan/stream",
      n: SUBSCRIBERS,
      sample: LATENCY_SAMPLE,
    });
    // One unmeasured second, so JIT warm-up is not billed to the first round.
    await publishAtRate({ url: hub.url, key: KEY_A, channel: "fan", rate: RATE, count: RATE });
    await rx.settle("fan", RATE, 60_000);
    for (let round = 0; round < rounds; round++) {
      await rx.reset("fan");
      await rx.expect("fan", count);
      const cpu0 = cpuSeconds(hub.pid);
      const rx0 = cpuSeconds(rx.pid);
      const t0 = performance.now();
      rates.push(
        await publishAtRate({ url: hub.url, key: KEY_A, channel: "fan", rate: RATE, count }),
      );
      const stats = await rx.settle("fan", count, 60_000);
      const elapsed = (performance.now() - t0) / 1000;
      cpu.push((cpuSeconds(hub.pid) - cpu0) / elapsed);
      rxCpu.push((cpuSeconds(rx.pid) - rx0) / elapsed);
      const lat = sorted(stats.latencies ?? []);
      p50s.push(percentile(lat, 50));
      p99s.push(percentile(lat, 99));
      const ok = stats.min === count && stats.errors === 0;
      complete &&= ok;
      notes.push(
        `${stats.min}–${stats.max}/${count} per subscriber, ${stats.errors} out of order, ${stats.reconnects} dropped`,
      );
    }
    await rx.close("fan");
  } finally {
    await hub.close();
  }
  console.log(
    `\n### SSE fan-out: ${fmt(SUBSCRIBERS)} subscribers on one channel, single-event POSTs at ${RATE}/s for ${seconds} s, ${rounds} rounds\n`,
  );
  console.log(
    table(
      [
        "publish rate achieved",
        "p50 ms",
        "p99 ms",
        "hub CPU (cores)",
        "receivers CPU",
        "delivered",
      ],
      [
        [
          spread(rates),
          spread(p50s, 1),
          `**${spread(p99s, 1)}**`,
          spread(cpu, 2),
          spread(rxCpu, 2),
          complete ? "all, in order" : "**incomplete**",
        ],
      ],
    ),
  );
  console.log(`\nPer round: ${notes.join("; ")}`);
  return [
    {
      target: "1,000 SSE subscribers keep up with 500 events/s, all delivered, p99 ≤ 250 ms",
      figure: `p99 ${spread(p99s, 1)} ms, ${complete ? "every event to every subscriber" : "NOT all delivered"}`,
      met: complete && median(p99s) <= 250 && median(rates) >= RATE * 0.95,
    },
  ];
}
