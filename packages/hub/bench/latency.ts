import { EventSource } from "eventsource";
import mqtt from "mqtt";
import { createHub, type Hub } from "../src/index.js";
import { percentile } from "./stats.js";

const KEY = "bench_key_123456";

export interface LatencyResult {
  p50: number;
  p99: number;
  received: number;
  sent: number;
}

/**
 * Publish single events over HTTP at a fixed rate; each carries its send time
 * (performance.now() of this process), and the subscriber records arrival minus send.
 */
async function publishAtRate(
  hub: Hub,
  channel: string,
  rate: number,
  count: number,
): Promise<void> {
  const interval = 1000 / rate;
  const start = performance.now();
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    pending.push(
      fetch(`${hub.url}/v1/events`, {
        method: "POST",
        headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
        body: JSON.stringify({
          channel,
          type: "bench.tick",
          payload: { i, sentAt: performance.now() },
        }),
      }).then((r) => r.arrayBuffer()),
    );
  }
  await Promise.all(pending);
}

function summarise(samples: number[], sent: number): LatencyResult {
  samples.sort((a, b) => a - b);
  return {
    p50: percentile(samples, 50),
    p99: percentile(samples, 99),
    received: samples.length,
    sent,
  };
}

async function settle(samples: number[], count: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (samples.length < count && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
}

export async function sseLatency(rate: number, count: number): Promise<LatencyResult> {
  const hub = await createHub({
    port: 0,
    mqttPort: 0,
    db: ":memory:",
    logger: false,
    apiKeys: `acme:${KEY}`,
  });
  const samples: number[] = [];
  const es = new EventSource(`${hub.url}/v1/channels/sse-bench/stream`, {
    fetch: (input, init) =>
      fetch(input, {
        ...init,
        headers: { ...(init?.headers as Record<string, string>), authorization: `Bearer ${KEY}` },
      }),
  });
  await new Promise<void>((resolve, reject) => {
    es.onopen = () => resolve();
    es.onerror = (e) => reject(new Error(`SSE failed: ${e.message}`));
  });
  es.addEventListener("bench.tick", (m) => {
    const sentAt = (JSON.parse(m.data) as { payload: { sentAt: number } }).payload.sentAt;
    samples.push(performance.now() - sentAt);
  });
  await publishAtRate(hub, "sse-bench", rate, count);
  await settle(samples, count);
  es.close();
  await hub.close();
  return summarise(samples, count);
}

export async function mqttLatency(rate: number, count: number): Promise<LatencyResult> {
  const hub = await createHub({
    port: 0,
    mqttPort: 0,
    db: ":memory:",
    logger: false,
    apiKeys: `acme:${KEY}`,
  });
  const samples: number[] = [];
  const client = await mqtt.connectAsync(hub.mqttUrl!, {
    username: "bench",
    password: KEY,
    reconnectPeriod: 0,
  });
  await client.subscribeAsync("chorus/acme/+/mqtt-bench/#");
  client.on("message", (_topic, payload) => {
    const sentAt = (JSON.parse(payload.toString()) as { payload: { sentAt: number } }).payload
      .sentAt;
    samples.push(performance.now() - sentAt);
  });
  await publishAtRate(hub, "mqtt-bench", rate, count);
  await settle(samples, count);
  await client.endAsync();
  await hub.close();
  return summarise(samples, count);
}
