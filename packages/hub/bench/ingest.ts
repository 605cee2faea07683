import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { ChorusEvent } from "@chorus/protocol";
import { request } from "undici";
import { Frame } from "../src/delivery/frame.js";
import { migrate } from "../src/store/migrations.js";
import { nowMs } from "./clock.js";
import { cpuSeconds } from "./cpu.js";
import { type BenchConfig, interleave } from "./config.js";
import { startHubChild } from "./hub-child.js";
import { Child } from "./ipc.js";
import { KEY_A, ORG_A } from "./keys.js";
import { batchBodies, makeEvents, postBodies, RAW_COLUMNS, rawRow } from "./publish.js";
import type { Receivers } from "./receivers-child.js";
import { fmt, median, spread, table, type Verdict } from "./stats.js";

const BATCH = 1000;
/** Subscribers on the channel in the subscribed runs (env overrides, to look at one side alone). */
const SSE_SUBSCRIBERS = Number(process.env.BENCH_INGEST_SSE ?? 100);
const MQTT_SUBSCRIBERS = Number(process.env.BENCH_INGEST_MQTT ?? 100);

/** Raw better-sqlite3: the same rows into the same schema, one transaction per batch, no HTTP. */
function rawInsertRate(total: number): number {
  const dir = mkdtempSync(join(tmpdir(), "chorus-bench-raw-"));
  const db = new Database(join(dir, "raw.db"));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  migrate(db);
  const insert = db.prepare(
    `INSERT INTO events (${RAW_COLUMNS.join(", ")}) VALUES (${RAW_COLUMNS.map(() => "?").join(", ")})`,
  );
  const events = makeEvents(total, "raw");
  const start = performance.now();
  const tx = db.transaction((rows: typeof events) => {
    const now = new Date();
    for (const e of rows) insert.run(...rawRow(e, "acme", now));
  });
  for (let i = 0; i < total; i += BATCH) tx(events.slice(i, i + BATCH));
  const seconds = (performance.now() - start) / 1000;
  db.close();
  rmSync(dir, { recursive: true, force: true });
  return total / seconds;
}

interface IngestRun {
  rate: number;
  /** Rate counted to the last POST answered, delivery still under way (subscribed runs). */
  answeredRate: number;
  delivered: string;
  /** CPU seconds per 1,000 events until the last POST was answered: hub, receivers, publisher. */
  cpu: { hub: number; rx: number; pub: number };
  /** Every subscriber got every event, in order (trivially true without subscribers). */
  complete: boolean;
}

/**
 * One run: a fresh hub process on a fresh SQLite file, optionally 100 SSE + 100 MQTT
 * subscribers on the channel (in the receivers process); `total` events POSTed as batches of
 * 1000, four in flight. With subscribers the clock stops when every subscriber has every event,
 * so the rate includes delivering them.
 */
async function run(rx: Receivers, total: number, tag: string, subscribed: boolean) {
  const dir = mkdtempSync(join(tmpdir(), "chorus-bench-ingest-"));
  const hub = await startHubChild({ db: join(dir, "hub.db") });
  try {
    await postBodies(hub.url, KEY_A, batchBodies(makeEvents(2_000, `${tag}-warm`, "warm"), BATCH));
    const groups = subscribed
      ? [
          { name: "SSE", group: "in-sse", n: SSE_SUBSCRIBERS },
          { name: "MQTT", group: "in-mqtt", n: MQTT_SUBSCRIBERS },
        ].filter((g) => g.n > 0)
      : [];
    for (const { group, n } of groups) {
      if (group === "in-sse")
        await rx.sse(group, { url: hub.url, key: KEY_A, path: "/v1/channels/bench/stream", n });
      else
        await rx.mqtt(group, { url: hub.mqttUrl, key: KEY_A, topic: "chorus/acme/+/bench/#", n });
      await rx.expect(group, total);
    }
    const bodies = batchBodies(makeEvents(total, tag), BATCH);
    const cpu0 = { hub: cpuSeconds(hub.pid), rx: cpuSeconds(rx.pid), pub: cpuSeconds(process.pid) };
    const start = nowMs();
    await postBodies(hub.url, KEY_A, bodies);
    const answered = nowMs();
    const per = 1000 / total;
    const cpu = {
      hub: (cpuSeconds(hub.pid) - cpu0.hub) * per,
      rx: (cpuSeconds(rx.pid) - cpu0.rx) * per,
      pub: (cpuSeconds(process.pid) - cpu0.pub) * per,
    };
    let end = answered;
    const delivered: string[] = [];
    let complete = true;
    for (const { name, group } of groups) {
      const stats = await rx.settle(group, total, 120_000);
      end = Math.max(end, stats.doneAt ?? Number.POSITIVE_INFINITY);
      delivered.push(
        `${name} ${stats.min}–${stats.max}/${total} (${stats.errors} out of order, ${stats.reconnects} ${name === "SSE" ? "dropped and resumed" : "disconnected"})`,
      );
      complete &&= stats.min === total && stats.errors === 0;
      await rx.close(group);
    }
    return {
      rate: total / ((end - start) / 1000),
      answeredRate: total / ((answered - start) / 1000),
      delivered: delivered.join(", "),
      cpu,
      complete,
    } satisfies IngestRun;
  } finally {
    await hub.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Bytes of one bench event as the hub writes it: the SSE frame and the MQTT PUBLISH packet. */
async function frameBytes(): Promise<{ sse: number; mqtt: number }> {
  const hub = await startHubChild();
  try {
    await postBodies(hub.url, KEY_A, batchBodies(makeEvents(1, "size"), BATCH));
    const res = await request(`${hub.url}/v1/events?channel=bench&limit=1`, {
      headers: { authorization: `Bearer ${KEY_A}` },
    });
    const { data } = (await res.body.json()) as { data: ChorusEvent[] };
    const frame = new Frame(ORG_A, data[0] as ChorusEvent, 0);
    return { sse: frame.sse.length, mqtt: frame.mqtt.length };
  } finally {
    await hub.close();
  }
}

/**
 * The fan-out's bytes alone: a process (not a hub) writes the subscribed run's frames to
 * the same number of connections, one write per connection per batch, and the receivers'
 * process counts them. Its CPU per 1,000 events is what a one-thread hub must add to ingest.
 */
async function wireRun(rx: Receivers, total: number, bytes: { sse: number; mqtt: number }) {
  const sender = new Child("wire-sender.js");
  try {
    const { port } = await sender.request<{ port: number }>("listen");
    const frames: number[] = [];
    for (const [group, n, size] of [
      ["wire-sse", SSE_SUBSCRIBERS, bytes.sse],
      ["wire-mqtt", MQTT_SUBSCRIBERS, bytes.mqtt],
    ] as const) {
      if (n === 0) continue;
      await rx.sink(group, { port, n });
      await rx.expect(group, size * total);
      frames.push(...Array.from({ length: n }, () => size));
    }
    const r = await sender.request<{ ms: number; cpuSeconds: number }>("blast", {
      frames,
      events: total,
      batch: BATCH,
    });
    for (const group of ["wire-sse", "wire-mqtt"]) await rx.close(group).catch(() => {});
    return { cpu: (r.cpuSeconds * 1000) / total, rate: total / (r.ms / 1000) };
  } finally {
    await sender.stop();
  }
}

export async function ingestBench(config: BenchConfig, rx: Receivers): Promise<Verdict[]> {
  const total = config.quick ? 10_000 : 20_000;
  rawInsertRate(5_000);
  const raw: number[] = [];
  const none: number[] = [];
  const subscribed: number[] = [];
  const answered: number[] = [];
  const ratios: number[] = [];
  const answeredRatios: number[] = [];
  const deliveries: string[] = [];
  const cpuNotes: string[] = [];
  const bytes = await frameBytes();
  const wireCpu: number[] = [];
  const wireRate: number[] = [];
  const ceilings: number[] = [];
  let complete = true;
  for (let round = 0; round < config.rounds; round++) {
    raw.push(rawInsertRate(total));
    const results: Record<string, IngestRun> = {};
    for (const kind of interleave(round, "none", "subscribed")) {
      results[kind] = await run(rx, total, `r${round}-${kind}`, kind === "subscribed");
    }
    const wire = await wireRun(rx, total, bytes);
    wireCpu.push(wire.cpu);
    wireRate.push(wire.rate);
    const n = results.none as IngestRun;
    ceilings.push(n.cpu.hub / (n.cpu.hub + wire.cpu));
    const s = results.subscribed as IngestRun;
    none.push(n.rate);
    subscribed.push(s.rate);
    answered.push(s.answeredRate);
    ratios.push(s.rate / n.rate);
    answeredRatios.push(s.answeredRate / n.rate);
    deliveries.push(s.delivered);
    for (const [kind, r] of [
      ["none", n],
      ["subscribed", s],
    ] as const)
      cpuNotes.push(
        `r${round} ${kind}: hub ${r.cpu.hub.toFixed(3)}, receivers ${r.cpu.rx.toFixed(3)}, publisher ${r.cpu.pub.toFixed(3)}`,
      );
    complete &&= s.complete;
  }
  console.log(
    `\n### Ingest: ${fmt(total)} events (batches of ${BATCH}, 4 in flight), hub in its own process, ${config.rounds} interleaved rounds\n`,
  );
  console.log(
    table(
      ["path", "events/s", "ratio to no subscribers"],
      [
        ["raw better-sqlite3 inserts, in the bench process (context)", spread(raw), ""],
        ["hub, no subscribers", spread(none), "1.00"],
        [
          `hub, ${SSE_SUBSCRIBERS} SSE + ${MQTT_SUBSCRIBERS} MQTT subscribers: ingest (last POST answered)`,
          spread(answered),
          `**${spread(answeredRatios, 2)}**`,
        ],
        [
          "the same, until every subscriber has every event",
          spread(subscribed),
          `**${spread(ratios, 2)}**`,
        ],
      ],
    ),
  );
  console.log(`\nDelivered per round: ${deliveries.join("; ")}`);
  console.log(
    `\nThe bytes alone (${bytes.sse} B per SSE frame, ${bytes.mqtt} B per MQTT packet, to ${SSE_SUBSCRIBERS} + ${MQTT_SUBSCRIBERS} connections, no hub): the writing process spends ${spread(wireCpu, 3)} CPU-s per 1,000 events and hands over ${spread(wireRate)} events/s. A hub that ingests and writes on one thread can reach at most hub CPU per event with none / (that + the bytes' CPU) = **${spread(ceilings, 2)}×** of its no-subscriber rate.`,
  );
  console.log(
    `\nCPU seconds per 1,000 events until the last POST was answered: ${cpuNotes.join("; ")}`,
  );
  const note = complete ? "" : " (not every event delivered)";
  return [
    {
      target: "ingest with 100 SSE + 100 MQTT subscribers ≥ 0.5× ingest with none",
      figure: `${spread(answeredRatios, 2)}×${note}`,
      met: median(answeredRatios) >= 0.5 && complete,
    },
    {
      target: "… counted until every subscriber has every event (stricter)",
      figure: `${spread(ratios, 2)}×${note}`,
      met: median(ratios) >= 0.5 && complete,
    },
  ];
}
