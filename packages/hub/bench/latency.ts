import { nowMs } from "./clock.js";
import { cpuSeconds } from "./cpu.js";
import type { BenchConfig } from "./config.js";
import { startHubChild } from "./hub-child.js";
import { Child } from "./ipc.js";
import { KEY_A } from "./keys.js";
import { startMosquitto } from "./mosquitto.js";
import { mqttAtRate, mqttPublisher, publishAtRate } from "./publish.js";
import type { Receivers } from "./receivers-child.js";
import { median, percentile, sorted, spread, table, type Verdict } from "./stats.js";

const RATE = 1_000;

type Path = "sse" | "mqtt" | "mosquitto";

/** CPU of a round's processes: the broker's per event, and the cores all three used. */
interface Cpu {
  brokerUs: number;
  cores: number;
}

/** The hub's event-loop delay during a round (ms). */
interface LoopDelay {
  p99: number;
  max: number;
}

/** What the sentinel saw during a round: timer delays over 5 ms, and the longest. */
interface Stalls {
  count: number;
  longest: number;
}

/**
 * Publish→receive latency at 1,000 events/s: single-event POSTs to the hub, read by one SSE
 * subscriber and one MQTT subscriber; the same rate published through Mosquitto as the
 * baseline. Send and arrival times are on the machine's monotonic clock (separate processes).
 * Publishers connect once (HTTP keep-alive, one MQTT client), as applications do. An idle
 * sentinel process (`sentinel.ts`) reports how long a runnable process waited for a core
 * during each round: on a small or shared machine those waits, not any broker, set the p99.
 */
export async function latencyBench(config: BenchConfig, rx: Receivers): Promise<Verdict[]> {
  const seconds = config.quick ? 3 : 5;
  const count = RATE * seconds;
  const hub = await startHubChild();
  const mosquitto = await startMosquitto({ noDelay: true });
  const publisher = await mqttPublisher(mosquitto.url);
  const sentinel = new Child("sentinel.js");
  type Result = {
    p50: number[];
    p99: number[];
    lost: number;
    stalls: Stalls[];
    cpu: Cpu[];
    loop: LoopDelay[];
  };
  const empty = (): Result => ({ p50: [], p99: [], lost: 0, stalls: [], cpu: [], loop: [] });
  const results: Record<Path, Result> = { sse: empty(), mqtt: empty(), mosquitto: empty() };
  let mosquittoSeq = 0;
  try {
    await rx.sse("lat-sse", {
      url: hub.url,
      key: KEY_A,
      path: "/v1/channels/lat-sse/stream",
      n: 1,
      sample: 1,
    });
    await rx.mqtt("lat-mqtt", {
      url: hub.mqttUrl,
      key: KEY_A,
      topic: "chorus/acme/+/lat-mqtt/#",
      n: 1,
      sample: 1,
    });
    await rx.mqtt("lat-mosquitto", { url: mosquitto.url, topic: "bench/lat", n: 1, sample: 1 });
    const order: Path[] = ["sse", "mqtt", "mosquitto"];
    const send = (path: Path, n: number) =>
      path === "mosquitto"
        ? mqttAtRate({
            client: publisher,
            topic: "bench/lat",
            rate: RATE,
            count: n,
            message: (i, sentAt) => JSON.stringify({ seq: ++mosquittoSeq, payload: { i, sentAt } }),
          })
        : publishAtRate({ url: hub.url, key: KEY_A, channel: `lat-${path}`, rate: RATE, count: n });
    // One unmeasured second per path, so JIT warm-up is not billed to the first round.
    for (const path of order) {
      await send(path, RATE);
      await rx.settle(`lat-${path}`, RATE, 30_000);
    }
    for (let round = 0; round < config.rounds; round++) {
      for (let k = 0; k < order.length; k++) {
        const path = order[(round + k) % order.length] as Path;
        const group = `lat-${path}`;
        await rx.reset(group);
        await rx.expect(group, count);
        const broker = path === "mosquitto" ? mosquitto.pid : hub.pid;
        const pids = [broker, rx.pid, process.pid];
        const cpu0 = pids.map(cpuSeconds);
        await hub.loopDelay();
        const from = nowMs();
        await send(path, count);
        const stats = await rx.settle(group, count, 60_000);
        const to = nowMs();
        const used = pids.map((pid, i) => cpuSeconds(pid) - (cpu0[i] as number));
        const loop = await hub.loopDelay();
        if (path !== "mosquitto") results[path].loop.push(loop);
        results[path].cpu.push({
          brokerUs: ((used[0] as number) / count) * 1e6,
          cores: used.reduce((a, b) => a + b, 0) / ((to - from) / 1000),
        });
        results[path].stalls.push(await sentinel.request<Stalls>("stalls", { from, to }));
        const lat = sorted(stats.latencies ?? []);
        results[path].p50.push(percentile(lat, 50));
        results[path].p99.push(percentile(lat, 99));
        results[path].lost += count - stats.min + stats.errors;
      }
    }
  } finally {
    await rx.close("lat-sse").catch(() => {});
    await rx.close("lat-mqtt").catch(() => {});
    await rx.close("lat-mosquitto").catch(() => {});
    await publisher.endAsync().catch(() => {});
    await sentinel.stop();
    await hub.close();
    await mosquitto.close();
  }
  console.log(
    `\n### Publish→receive latency at ${RATE} events/s for ${seconds} s, ${config.rounds} interleaved rounds\n`,
  );
  const row = (name: string, r: (typeof results)[Path]) => [
    name,
    spread(r.p50, 2),
    `**${spread(r.p99, 2)}**`,
    r.lost === 0 ? "all" : `${r.lost} missing`,
    spread(
      r.cpu.map((c) => c.brokerUs),
      0,
    ),
    spread(
      r.cpu.map((c) => c.cores),
      2,
    ),
    r.loop.length === 0
      ? "–"
      : `${spread(
          r.loop.map((l) => l.p99),
          1,
        )} / ${spread(
          r.loop.map((l) => l.max),
          1,
        )}`,
    spread(
      r.stalls.map((s) => s.count),
      0,
    ),
    spread(
      r.stalls.map((s) => s.longest),
      1,
    ),
  ];
  console.log(
    table(
      [
        "path",
        "p50 ms",
        "p99 ms",
        "received",
        "broker CPU µs/event",
        "cores used (broker, receivers, publisher)",
        "hub event-loop delay p99 / max ms",
        "machine stalls > 5 ms",
        "longest stall ms",
      ],
      [
        row("HTTP → hub → SSE (undici + eventsource-parser)", results.sse),
        row("HTTP → hub → MQTT (mqtt.js)", results.mqtt),
        row("mqtt.js → Mosquitto → mqtt.js (baseline)", results.mosquitto),
      ],
    ),
  );
  return [
    {
      target: "publish→receive p99 at 1,000 ev/s, HTTP in → SSE out ≤ 10 ms",
      figure: `${spread(results.sse.p99, 2)} ms`,
      met: results.sse.lost === 0 && median(results.sse.p99) <= 10,
    },
  ];
}
