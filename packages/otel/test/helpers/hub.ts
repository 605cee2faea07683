import { Chorus, type ChorusEvent } from "@chorus/core";
import { createHub, type Hub } from "@chorus/hub";

export const API_KEY = "key_acme_0123456789";

export interface TestHub {
  hub: Hub;
  chorus: Chorus;
  /** Flush, then every event on the channel (optionally of one trace), oldest first. */
  events(filter?: { traceId?: string; channel?: string }): Promise<ChorusEvent[]>;
  close(): Promise<void>;
}

export async function startTestHub(channel = "otel"): Promise<TestHub> {
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
    channel,
    flushIntervalMs: 10,
    logger: false,
  });
  return {
    hub,
    chorus,
    async events(filter = {}) {
      await chorus.flush(5_000);
      const page = await chorus.events.list({
        channel: filter.channel ?? channel,
        traceId: filter.traceId,
        limit: 1000,
      });
      return page.data;
    },
    async close() {
      await chorus.close(2_000);
      await hub.close();
    },
  };
}

/** The event types, in order: what a user tailing the channel sees. */
export const types = (events: readonly ChorusEvent[]): string[] => events.map((e) => e.type);

export function only(events: readonly ChorusEvent[], type: string): ChorusEvent {
  const found = events.filter((e) => e.type === type);
  if (found.length !== 1)
    throw new Error(`expected one ${type}, got ${found.length}: ${types(events).join(", ")}`);
  return found[0] as ChorusEvent;
}

/** Wait until `predicate` holds (events arrive asynchronously after a stream ends). */
export async function until(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}
