import mqtt, { type MqttClient } from "mqtt";
import { Agent, request } from "undici";
import { nowMs, sleep } from "./clock.js";

/**
 * The publisher's own connection pool: keep-alive, a few sockets, like a real client. Kept
 * alive longer than a scenario leaves a path idle between its rounds, so no round pays for
 * new connections.
 */
const agent = new Agent({ connections: 8, keepAliveTimeout: 60_000 });

export async function postJson(
  url: string,
  key: string,
  body: string,
  dispatcher: Agent = agent,
): Promise<unknown> {
  const res = await request(`${url}/v1/events`, {
    method: "POST",
    dispatcher,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body,
  });
  const text = await res.body.text();
  if (res.statusCode !== 202) throw new Error(`ingest answered ${res.statusCode}: ${text}`);
  return JSON.parse(text);
}

/** POST prepared batch bodies, `concurrency` requests in flight. */
export async function postBodies(
  url: string,
  key: string,
  bodies: readonly string[],
  concurrency = 4,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) await postJson(url, key, bodies[next++] as string);
    }),
  );
}

/** Events of the ingest benchmark: a 200-character payload, trace ids, metadata. */
export function makeEvents(n: number, prefix: string, channel = "bench") {
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}-${i}`,
    channel,
    type: "tool.end",
    agent: "researcher",
    traceId: "0af7651916cd43dd8448eb211c80319c",
    spanId: "b7ad6b7169203331",
    payload: { tool: "search", result: "x".repeat(200), n: i },
    metadata: { framework: "bench" },
    occurredAt: new Date().toISOString(),
  }));
}

/** The `events` columns the raw baselines fill (the rest default), in `rawRow`'s order. */
export const RAW_COLUMNS = [
  "org",
  "id",
  "channel",
  "env",
  "type",
  "agent",
  "trace_id",
  "span_id",
  "payload",
  "metadata",
  "occurred_at",
  "received_at",
  "received_ms",
] as const;

/** A bench event as the row the hub would store, for the raw SQLite and Postgres baselines. */
export function rawRow(
  e: ReturnType<typeof makeEvents>[number],
  org: string,
  received: Date,
): (string | number)[] {
  return [
    org,
    e.id,
    e.channel,
    "default",
    e.type,
    e.agent,
    e.traceId,
    e.spanId,
    JSON.stringify(e.payload),
    JSON.stringify(e.metadata),
    e.occurredAt,
    received.toISOString(),
    received.getTime(),
  ];
}

export function batchBodies(events: readonly unknown[], batch: number): string[] {
  const bodies: string[] = [];
  for (let i = 0; i < events.length; i += batch)
    bodies.push(JSON.stringify({ events: events.slice(i, i + batch) }));
  return bodies;
}

/**
 * Single-event POSTs at a fixed rate, each stamped with its send time on the shared monotonic
 * clock. Sends on schedule without waiting for answers (an open-loop load, so a slow hub shows
 * as latency rather than as a politely slower publisher). Returns the rate achieved.
 */
export async function publishAtRate(options: {
  url: string;
  key: string;
  channel: string;
  rate: number;
  count: number;
  type?: string;
  pad?: string;
  /** Connections to send on (default the publisher's pool of 8): many clients, not one. */
  dispatcher?: Agent;
}): Promise<number> {
  const { url, key, channel, rate, count } = options;
  const interval = 1000 / rate;
  const start = nowMs();
  const pending: Promise<unknown>[] = [];
  const answers: number[] = [];
  for (let i = 0; i < count; i++) {
    const wait = start + i * interval - nowMs();
    if (wait > 1) await sleep(wait);
    const payload: Record<string, unknown> = { i, sentAt: nowMs() };
    if (options.pad) payload.pad = options.pad;
    const sentAt = payload.sentAt as number;
    pending.push(
      postJson(
        url,
        key,
        JSON.stringify({ channel, type: options.type ?? "bench.tick", payload }),
        options.dispatcher,
      ).then(() => answers.push(nowMs() - sentAt)),
    );
  }
  const achieved = count / ((nowMs() - start) / 1000);
  await Promise.all(pending);
  if (process.env.BENCH_DEBUG) {
    answers.sort((a, b) => a - b);
    console.log(
      `POST answered p50 ${answers[answers.length >> 1]?.toFixed(1)} ms, max ${answers.at(-1)?.toFixed(1)} ms`,
    );
  }
  return achieved;
}

/**
 * An MQTT publisher for {@link mqttAtRate}: connected once and kept, as an application keeps its
 * client, with Nagle's algorithm off (mqtt.js leaves it on; the hub's HTTP client, undici, turns
 * it off). A connection made per round showed its first 40 ms of messages held back, which
 * alone put the baseline's p99 at 12 ms.
 */
export async function mqttPublisher(url: string): Promise<MqttClient> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  (client.stream as { setNoDelay?: (on: boolean) => unknown }).setNoDelay?.(true);
  return client;
}

/** The same fixed-rate load published to an MQTT broker (the Mosquitto baseline). */
export async function mqttAtRate(options: {
  client: MqttClient;
  topic: string;
  rate: number;
  count: number;
  message: (i: number, sentAt: number) => string;
}): Promise<number> {
  const { client } = options;
  const interval = 1000 / options.rate;
  const start = nowMs();
  for (let i = 0; i < options.count; i++) {
    const wait = start + i * interval - nowMs();
    if (wait > 1) await sleep(wait);
    client.publish(options.topic, options.message(i, nowMs()), { qos: 0 });
  }
  return options.count / ((nowMs() - start) / 1000);
}
