import { type BenchConfig, interleave } from "./config.js";
import { startHubChild } from "./hub-child.js";
import { KEY_A, KEY_B } from "./keys.js";
import { publishAtRate } from "./publish.js";
import type { Receivers } from "./receivers-child.js";
import { median, percentile, sorted, spread, table, type Verdict } from "./stats.js";

/** Org A's traffic: 50 KB events, enough to fill a stuck reader's socket buffers in a second or two. */
const FLOOD_RATE = 100;
const FLOOD_PAD = "f".repeat(50_000);
/** Org B's traffic, whose latency is measured. */
const WATCH_RATE = 200;

/**
 * A stuck MQTT subscriber of one org (connects, subscribes, never reads) against the latency
 * another org's subscriber sees. Each round runs the same traffic twice, with and without the
 * stuck subscriber, in alternating order; the figure is the rise in the other org's p99.
 */
export async function isolationBench(config: BenchConfig, rx: Receivers): Promise<Verdict[]> {
  const seconds = config.quick ? 4 : 6;
  const rounds = Math.max(2, Math.ceil(config.rounds / 2));
  const hub = await startHubChild();
  const port = Number(new URL(hub.mqttUrl).port);
  const p99: Record<"clean" | "stuck", number[]> = { clean: [], stuck: [] };
  const rises: number[] = [];
  let lost = 0;
  try {
    await rx.mqtt("iso-watch", {
      url: hub.mqttUrl,
      key: KEY_B,
      topic: "chorus/globex/+/iso/#",
      n: 1,
      sample: 1,
    });
    for (let round = 0; round < rounds; round++) {
      const got: Record<string, number> = {};
      for (const kind of interleave(round, "clean", "stuck") as ("clean" | "stuck")[]) {
        if (kind === "stuck")
          await rx.stuck(`iso-stuck-${round}`, {
            host: "127.0.0.1",
            port,
            key: KEY_A,
            topic: "chorus/acme/#",
            n: 1,
          });
        const count = WATCH_RATE * seconds;
        await rx.reset("iso-watch");
        await rx.expect("iso-watch", count);
        await Promise.all([
          publishAtRate({
            url: hub.url,
            key: KEY_A,
            channel: "flood",
            rate: FLOOD_RATE,
            count: FLOOD_RATE * seconds,
            pad: FLOOD_PAD,
          }),
          publishAtRate({ url: hub.url, key: KEY_B, channel: "iso", rate: WATCH_RATE, count }),
        ]);
        const stats = await rx.settle("iso-watch", count, 90_000);
        lost += count - stats.min + stats.errors;
        const value = percentile(sorted(stats.latencies ?? []), 99);
        p99[kind].push(value);
        got[kind] = value;
        if (kind === "stuck") await rx.close(`iso-stuck-${round}`);
      }
      rises.push((got.stuck as number) - (got.clean as number));
    }
    await rx.close("iso-watch");
  } finally {
    await hub.close();
  }
  console.log(
    `\n### Isolation: another org's MQTT p99 (${WATCH_RATE} ev/s) with one stuck MQTT subscriber under ${FLOOD_RATE} × 50 KB ev/s, ${rounds} interleaved rounds\n`,
  );
  console.log(
    table(
      ["other org's p99 ms, no stuck subscriber", "with a stuck subscriber", "rise ms"],
      [[spread(p99.clean, 1), spread(p99.stuck, 1), `**${spread(rises, 1)}**`]],
    ),
  );
  return [
    {
      target: "a stuck MQTT subscriber raises another org's p99 by ≤ 100 ms",
      figure: `${median(rises) >= 0 ? "+" : ""}${spread(rises, 1)} ms${lost === 0 ? "" : ` (${lost} events missing)`}`,
      met: lost === 0 && median(rises) <= 100,
    },
  ];
}
