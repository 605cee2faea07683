import { Chorus, type ChorusEvent } from "@chorus/core";
import { createHub, type Hub } from "@chorus/hub";
import { tool } from "langchain";
import { z } from "zod";

export const API_KEY = "key_acme_0123456789";

export interface TestHub {
  hub: Hub;
  chorus: Chorus;
  close(): Promise<void>;
}

/** A real hub in this process on random ports, and a client for it with quiet logs. */
export async function startHub(): Promise<TestHub> {
  const hub = await createHub({
    port: 0,
    mqttPort: 0,
    db: ":memory:",
    logger: false,
    apiKeys: `acme:${API_KEY}`,
  });
  const chorus = new Chorus({
    url: hub.url,
    apiKey: API_KEY,
    flushIntervalMs: 20,
    logger: false,
    drainOnExit: false,
  });
  return {
    hub,
    chorus,
    async close() {
      await chorus.close(2_000);
      await hub.close();
    },
  };
}

let channelCounter = 0;
/** A channel of its own for each test, so tests read only their own events. */
export function freshChannel(prefix = "lc"): string {
  channelCounter++;
  return `${prefix}-${process.pid}-${channelCounter}-${Date.now().toString(36)}`;
}

/** Flush, then read the channel back from the hub over HTTP (the way a dashboard would). */
export async function readBack(chorus: Chorus, channel: string): Promise<ChorusEvent[]> {
  const flushed = await chorus.flush(5_000);
  if (!flushed) throw new Error("flush timed out");
  const page = await chorus.events.list({ channel, limit: 1000 });
  return page?.data ?? [];
}

export function types(events: readonly ChorusEvent[]): string[] {
  return events.map((e) => e.type);
}

export function ofType(events: readonly ChorusEvent[], type: string): ChorusEvent[] {
  return events.filter((e) => e.type === type);
}

export function one(events: readonly ChorusEvent[], type: string): ChorusEvent {
  const found = ofType(events, type);
  if (found.length !== 1)
    throw new Error(`expected one ${type}, got ${found.length}: ${types(events).join(", ")}`);
  return found[0]!;
}

export function payload(event: ChorusEvent): Record<string, any> {
  return event.payload as Record<string, any>;
}

export function meta(event: ChorusEvent): Record<string, any> {
  return (event.metadata ?? {}) as Record<string, any>;
}

/** A real LangChain tool. */
export const getWeather = tool(async ({ city }: { city: string }) => `Sunny and 24°C in ${city}`, {
  name: "get_weather",
  description: "Current weather for a city",
  schema: z.object({ city: z.string() }),
});
