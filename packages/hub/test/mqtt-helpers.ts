import type { ChorusEvent } from "@chorus/protocol";
import { type IClientOptions, type MqttClient, connectAsync } from "mqtt";
import type { Hub } from "../src/index.js";

/** Connect with an API key (or realtime token) as password; no reconnects, so failures surface. */
export async function connectMqtt(
  url: string,
  password: string,
  options: IClientOptions = {},
): Promise<MqttClient> {
  return connectAsync(url, {
    username: "any",
    password,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    ...options,
  });
}

export interface Received {
  topic: string;
  /** The stored event JSON, as every canonical topic carries. */
  body: ChorusEvent;
}

/** Collects every message a client receives, for `next()` and `none()` below. */
export function collect(client: MqttClient) {
  const messages: Received[] = [];
  const waiters: (() => void)[] = [];
  client.on("message", (topic, payload) => {
    messages.push({ topic, body: JSON.parse(payload.toString("utf8")) as ChorusEvent });
    for (const w of waiters.splice(0)) w();
  });
  return {
    messages,
    /** Resolves once `count` messages have arrived. */
    async next(count = 1, timeoutMs = 5_000): Promise<Received[]> {
      const deadline = Date.now() + timeoutMs;
      while (messages.length < count) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`expected ${count} messages, got ${messages.length}`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
      return messages.slice(0, count);
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves when the client's connection closes. */
export function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => client.once("close", () => resolve()));
}

/** One sample of a Prometheus metric from `GET /metrics`, 0 when absent. */
export async function metric(hub: Hub, name: string, labels = ""): Promise<number> {
  const text = await (await fetch(`${hub.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}${labels} `));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
}

/** MQTT remaining-length encoding (MQTT 3.1.1, 2.2.3). */
export function remainingLength(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return out;
}
