import pg from "pg";
import { Agent } from "undici";
import { PgStore } from "../src/store/pg.js";
import { type PgCluster, startPgCluster } from "../test/pg-cluster.js";
import { nowMs } from "./clock.js";
import { type BenchConfig, interleave } from "./config.js";
import { type HubChild, startHubChild } from "./hub-child.js";
import { KEY_A, ORG_A } from "./keys.js";
import {
  batchBodies,
  makeEvents,
  postBodies,
  publishAtRate,
  RAW_COLUMNS,
  rawRow,
} from "./publish.js";
import type { Receivers } from "./receivers-child.js";
import { median, percentile, sorted, spread, table, type Verdict } from "./stats.js";

/*
 * The hub on Postgres (issue "Scale-out"): a temporary cluster from Debian's postgresql with the
 * server's default durability (fsync and synchronous commit on), three measurements:
 * - ingest through one hub (HTTP batches of 1,000, four in flight) against raw `pg` multi-row
 *   inserts of the same rows into the same schema (four connections, one statement per 1,000);
 * - SSE replay of those rows from the hub (`Last-Event-ID: 0`, read in the receivers process)
 *   against a raw `pg` read of the same rows (keyset pages of 1,000, in this process);
 * - three hubs on one database: single-event POSTs at 1,000 ev/s to one hub, read over SSE
 *   from the two others; the publishing hub rotates each round.
 */
const BATCH = 1000;
const CONNECTIONS = 4;
const RATE = 1_000;
/**
 * Connections the across-hubs publisher sends on. Each POST is answered after its commit, which
 * waits for the WAL flush (fsync on), so one client's pool of 8 would cap the load at 8 requests
 * per commit time and measure that pool, not the hubs; the load stands for many agents.
 */
const PUBLISHER_CONNECTIONS = 64;

let databases = 0;

/** Raw `pg`: one multi-row insert of `seq` and the raw columns, as the hub's own write does. */
const INSERT_RAW = (() => {
  const columns = ["seq", ...RAW_COLUMNS];
  const arrays = columns.map(
    (c, i) => `$${i + 1}::${c === "seq" || c === "received_ms" ? "bigint" : "text"}[]`,
  );
  return `INSERT INTO events (${columns.join(", ")}) SELECT * FROM unnest(${arrays.join(", ")})`;
})();

/** A fresh database on `cluster` with the hub's schema, migrated by the store itself. */
async function freshDb(cluster: PgCluster, admin: pg.Client): Promise<string> {
  const name = `bench_${++databases}`;
  await admin.query(`CREATE DATABASE ${name}`);
  const url = cluster.urlOf(name);
  await (await PgStore.open(url)).close();
  return url;
}

/** Raw `pg`: the rows the hub would store, one multi-row insert per 1,000 on four connections. */
async function rawInsertRate(url: string, total: number, tag: string): Promise<number> {
  const pool = new pg.Pool({ connectionString: url, max: CONNECTIONS });
  try {
    await Promise.all(Array.from({ length: CONNECTIONS }, () => pool.query("SELECT 1")));
    const events = makeEvents(total, tag);
    let next = 0;
    const start = nowMs();
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        while (next < total) {
          const from = next;
          next += BATCH;
          const rows = events.slice(from, from + BATCH);
          const now = new Date();
          const cols: unknown[][] = [[], ...RAW_COLUMNS.map(() => [])];
          rows.forEach((e, i) => {
            const values = [from + i + 1, ...rawRow(e, ORG_A, now)];
            for (let k = 0; k < values.length; k++) (cols[k] as unknown[]).push(values[k]);
          });
          await pool.query(INSERT_RAW, cols);
        }
      }),
    );
    return total / ((nowMs() - start) / 1000);
  } finally {
    await pool.end();
  }
}

/** Raw `pg`: read the channel's rows back in seq order, keyset pages of 1,000. */
async function rawReadRate(url: string, total: number): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    let after = 0;
    let read = 0;
    const start = nowMs();
    for (;;) {
      const { rows } = await client.query<{ seq: string }>(
        `SELECT seq, id, channel, env, app, type, agent, trace_id, span_id, parent_span_id,
          intent_id, payload, metadata, occurred_at, received_at
         FROM events WHERE org = $1 AND channel = 'bench' AND seq > $2 ORDER BY seq LIMIT ${BATCH}`,
        [ORG_A, after],
      );
      if (rows.length === 0) break;
      read += rows.length;
      after = Number(rows.at(-1)?.seq);
    }
    if (read !== total) throw new Error(`raw read found ${read} of ${total} rows`);
    return total / ((nowMs() - start) / 1000);
  } finally {
    await client.end();
  }
}

/** Ingest `total` events through a hub on `url`; then replay them over SSE. Both rates. */
async function hubRun(
  rx: Receivers,
  url: string,
  total: number,
  tag: string,
): Promise<{ ingest: number; replay: number; replayed: boolean }> {
  const hub = await startHubChild({ db: url });
  try {
    await postBodies(hub.url, KEY_A, batchBodies(makeEvents(2_000, `${tag}-warm`, "warm"), BATCH));
    const bodies = batchBodies(makeEvents(total, tag), BATCH);
    const start = nowMs();
    await postBodies(hub.url, KEY_A, bodies, CONNECTIONS);
    const ingest = total / ((nowMs() - start) / 1000);
    const group = `pg-replay-${tag}`;
    const replayStart = nowMs();
    await rx.sse(group, {
      url: hub.url,
      key: KEY_A,
      path: "/v1/channels/bench/stream",
      n: 1,
      lastEventId: "0",
      expect: total,
    });
    const stats = await rx.settle(group, total, 120_000);
    await rx.close(group);
    const replay = total / (((stats.doneAt ?? Number.POSITIVE_INFINITY) - replayStart) / 1000);
    return { ingest, replay, replayed: stats.min === total && stats.errors === 0 };
  } finally {
    await hub.close();
  }
}

async function ingestAndReplay(
  config: BenchConfig,
  rx: Receivers,
  cluster: PgCluster,
  admin: pg.Client,
): Promise<Verdict[]> {
  const total = config.quick ? 10_000 : 20_000;
  const raw = { ingest: [] as number[], read: [] as number[] };
  const hub = { ingest: [] as number[], replay: [] as number[] };
  const ratios = { ingest: [] as number[], replay: [] as number[] };
  let complete = true;
  await rawInsertRate(await freshDb(cluster, admin), 5_000, "warm");
  for (let round = 0; round < config.rounds; round++) {
    const urls = { raw: await freshDb(cluster, admin), hub: await freshDb(cluster, admin) };
    let rawIngest = 0;
    let hubResult = { ingest: 0, replay: 0, replayed: false };
    for (const side of interleave(round, "raw", "hub")) {
      if (side === "raw") rawIngest = await rawInsertRate(urls.raw, total, `r${round}`);
      else hubResult = await hubRun(rx, urls.hub, total, `r${round}`);
    }
    // The raw read goes over the hub's own database, after its run: the same rows, same pages.
    const rawRead = await rawReadRate(urls.hub, total);
    raw.ingest.push(rawIngest);
    raw.read.push(rawRead);
    hub.ingest.push(hubResult.ingest);
    hub.replay.push(hubResult.replay);
    ratios.ingest.push(hubResult.ingest / rawIngest);
    ratios.replay.push(hubResult.replay / rawRead);
    complete &&= hubResult.replayed;
  }
  console.log(
    `\n### Postgres: ${total.toLocaleString("en-US")} events, ingest and replay, ${config.rounds} interleaved rounds (Postgres 15, default durability)\n`,
  );
  console.log(
    table(
      ["path", "events/s", "ratio"],
      [
        [
          `raw pg multi-row inserts (${CONNECTIONS} connections × ${BATCH} rows)`,
          spread(raw.ingest),
          "1.00",
        ],
        [
          `hub ingest: HTTP batches of ${BATCH}, ${CONNECTIONS} in flight`,
          spread(hub.ingest),
          `**${spread(ratios.ingest, 2)}**`,
        ],
        [`raw pg read of the same rows (pages of ${BATCH})`, spread(raw.read), "1.00"],
        [
          "hub SSE replay from Last-Event-ID 0, read in another process",
          spread(hub.replay),
          `**${spread(ratios.replay, 2)}**`,
        ],
      ],
    ),
  );
  const note = complete ? "" : " (replay incomplete)";
  return [
    {
      target: "ingest through one hub into Postgres ≥ 0.5× raw pg multi-row inserts",
      figure: `${spread(ratios.ingest, 2)}×`,
      met: median(ratios.ingest) >= 0.5,
    },
    {
      target: "SSE replay from Postgres ≥ 0.5× a raw pg read of the same rows",
      figure: `${spread(ratios.replay, 2)}×${note}`,
      met: median(ratios.replay) >= 0.5 && complete,
    },
  ];
}

async function acrossHubs(
  config: BenchConfig,
  rx: Receivers,
  cluster: PgCluster,
  admin: pg.Client,
): Promise<Verdict[]> {
  const seconds = config.quick ? 3 : 5;
  const count = RATE * seconds;
  const url = await freshDb(cluster, admin);
  const hubs: HubChild[] = [];
  const publisherPool = new Agent({ connections: PUBLISHER_CONNECTIONS, keepAliveTimeout: 10_000 });
  const p50: number[] = [];
  const p99: number[] = [];
  let lost = 0;
  try {
    for (let i = 0; i < 3; i++) hubs.push(await startHubChild({ db: url }));
    // Each hub has one reader; a round publishes to one hub and reads on the two others.
    const groups = hubs.map((_, i) => `pg-hub-${i}`);
    for (const [i, hub] of hubs.entries()) {
      await rx.sse(groups[i] as string, {
        url: hub.url,
        key: KEY_A,
        path: "/v1/channels/across/stream",
        n: 1,
        sample: 1,
      });
    }
    const publishTo = async (index: number, n: number) => {
      for (const g of groups) {
        await rx.reset(g);
        await rx.expect(g, n);
      }
      const publisher = hubs[index] as HubChild;
      await publishAtRate({
        url: publisher.url,
        key: KEY_A,
        channel: "across",
        rate: RATE,
        count: n,
        dispatcher: publisherPool,
      });
      const latencies: number[] = [];
      let missing = 0;
      // Every reader settles (the publishing hub's own too), so nothing of this round arrives
      // in the next; latency counts on the two other hubs only.
      for (const [i, g] of groups.entries()) {
        const stats = await rx.settle(g, n, 60_000);
        missing += n - stats.min + stats.errors;
        if (i !== index) latencies.push(...(stats.latencies ?? []));
      }
      return { latencies: sorted(latencies), missing };
    };
    for (let i = 0; i < hubs.length; i++) await publishTo(i, RATE); // warm every path
    for (let round = 0; round < config.rounds; round++) {
      const { latencies, missing } = await publishTo(round % hubs.length, count);
      p50.push(percentile(latencies, 50));
      p99.push(percentile(latencies, 99));
      lost += missing;
    }
    for (const g of groups) await rx.close(g);
  } finally {
    for (const hub of hubs) await hub.close();
    await publisherPool.close();
  }
  console.log(
    `\n### Three hubs on one Postgres: ${RATE} ev/s for ${seconds} s posted to one hub, read over SSE on the two others, ${config.rounds} rounds\n`,
  );
  console.log(
    table(
      ["path", "p50 ms", "p99 ms", "received"],
      [
        [
          "HTTP → hub A → Postgres (NOTIFY) → hubs B, C → SSE",
          spread(p50, 2),
          `**${spread(p99, 2)}**`,
          lost === 0 ? "all" : `${lost} missing`,
        ],
      ],
    ),
  );
  return [
    {
      target: "three hubs: publish→receive p99 across hubs at 1,000 ev/s ≤ 50 ms",
      figure: `${spread(p99, 2)} ms`,
      met: lost === 0 && median(p99) <= 50,
    },
  ];
}

export async function postgresBench(config: BenchConfig, rx: Receivers): Promise<Verdict[]> {
  const cluster = await startPgCluster({ durable: true, maxConnections: 200 });
  const admin = new pg.Client({ connectionString: cluster.adminUrl });
  try {
    await admin.connect();
    return [
      ...(await ingestAndReplay(config, rx, cluster, admin)),
      ...(await acrossHubs(config, rx, cluster, admin)),
    ];
  } finally {
    await admin.end().catch(() => {});
    cluster.stop();
  }
}
