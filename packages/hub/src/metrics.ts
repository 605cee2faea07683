import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** Prometheus metrics of one hub. A registry per hub: two hubs in one process never share counters. */
export class HubMetrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({
    name: "chorus_http_requests_total",
    help: "HTTP requests by route and status code",
    labelNames: ["method", "route", "status"] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: "chorus_http_request_duration_seconds",
    help: "HTTP request latency",
    labelNames: ["method", "route"] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly eventsIngested = new Counter({
    name: "chorus_events_ingested_total",
    help: "Events stored, by source",
    labelNames: ["source"] as const,
    registers: [this.registry],
  });
  readonly eventsDuplicate = new Counter({
    name: "chorus_events_duplicate_total",
    help: "Events refused as duplicates of an id already stored",
    registers: [this.registry],
  });
  readonly eventsRejected = new Counter({
    name: "chorus_events_rejected_total",
    help: "Events refused as invalid, by source",
    labelNames: ["source"] as const,
    registers: [this.registry],
  });
  readonly eventsPruned = new Counter({
    name: "chorus_events_pruned_total",
    help: "Events deleted by retention",
    registers: [this.registry],
  });
  readonly sseConnections = new Gauge({
    name: "chorus_sse_connections",
    help: "Open SSE streams",
    registers: [this.registry],
  });
  readonly mqttClients = new Gauge({
    name: "chorus_mqtt_clients",
    help: "Connected MQTT clients",
    registers: [this.registry],
  });
  readonly mqttPublishesDropped = new Counter({
    name: "chorus_mqtt_ingest_dropped_total",
    help: "Publishes on chorus-in/ dropped as invalid or unauthorized",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  readonly mqttIngestWaits = new Counter({
    name: "chorus_mqtt_ingest_store_waits_total",
    help: "Times a client publish from an external broker found the store unreachable and was tried again after STORAGE_RETRY_AFTER_MS",
    registers: [this.registry],
  });
  readonly mqttIngestInFlight = new Gauge({
    name: "chorus_mqtt_ingest_in_flight",
    help: "Client publishes from an external broker being ingested; at its bound the hub stops reading from the broker",
    registers: [this.registry],
  });
  readonly mqttAuthFailures = new Counter({
    name: "chorus_mqtt_auth_failures_total",
    help: "MQTT CONNECTs refused for bad credentials",
    registers: [this.registry],
  });
  /** Set by the delivery engine: bytes its connections hold, read at each scrape. */
  bufferedBytes: (() => Record<"sse" | "mqtt", number>) | undefined;
  readonly sendBufferBytes = new Gauge({
    name: "chorus_send_buffer_bytes",
    help: "Bytes held for open connections (queued, in socket buffers, kept at the replay seam)",
    labelNames: ["kind"] as const,
    registers: [this.registry],
    collect: () => {
      const held = this.bufferedBytes?.();
      if (!held) return;
      this.sendBufferBytes.set({ kind: "sse" }, held.sse);
      this.sendBufferBytes.set({ kind: "mqtt" }, held.mqtt);
    },
  });
  readonly sendBufferHighWater = new Histogram({
    name: "chorus_send_buffer_high_water_bytes",
    help: "Most bytes one connection ever had buffered, observed when it closes",
    labelNames: ["kind"] as const,
    buckets: [1024, 16_384, 65_536, 262_144, 1_048_576, 4_194_304, 16_777_216],
    registers: [this.registry],
  });
  readonly slowConsumerDrops = new Counter({
    name: "chorus_slow_consumer_drops_total",
    help: "Connections dropped for falling behind (buffer_full) or a stuck socket (write_timeout)",
    labelNames: ["kind", "reason"] as const,
    registers: [this.registry],
  });
  readonly deliveryConnections = new Gauge({
    name: "chorus_delivery_connections",
    help: "Open delivery connections: SSE replaying or live, MQTT subscribers",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  /** Set by the delivery engine: bytes its replay caches hold, read at each scrape. */
  cachedBytes: (() => Record<"recent" | "pages", number>) | undefined;
  readonly replayCacheBytes = new Gauge({
    name: "chorus_replay_cache_bytes",
    help: "Bytes the replay caches hold: recent (the tail's newest events, by the store's measure), pages (history pages readers share)",
    labelNames: ["kind"] as const,
    registers: [this.registry],
    collect: () => {
      const held = this.cachedBytes?.();
      if (!held) return;
      this.replayCacheBytes.set({ kind: "recent" }, held.recent);
      this.replayCacheBytes.set({ kind: "pages" }, held.pages);
    },
  });
  readonly replayPages = new Counter({
    name: "chorus_replay_pages_total",
    help: "Replay pages written to SSE readers by source: recent (the tail's newest events), shared (a page another reader just read), store",
    labelNames: ["source"] as const,
    registers: [this.registry],
  });
  readonly tailLag = new Histogram({
    name: "chorus_tail_lag_seconds",
    help: "From an event's commit to the write of the tail batch that carried it",
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly tailCursor = new Gauge({
    name: "chorus_tail_cursor",
    help: "Last seq the delivery tail handed to connections",
    registers: [this.registry],
  });
  readonly mqttPublishesDelayed = new Counter({
    name: "chorus_mqtt_publishes_delayed_total",
    help: "MQTT publishes past their key's rate limit (rateLimit), ingested later rather than refused",
    registers: [this.registry],
  });
  readonly mqttDenied = new Counter({
    name: "chorus_mqtt_denied_total",
    help: "MQTT connects, subscribes and publishes refused, by kind: connect (client id of another org), connection_limit (the key's maxStreamsPerKey), subscribe and publish (outside the client's org or scopes), subscription_limit, packet_too_large, packet_stalled (a packet not in full within PACKET_DEADLINE_MS)",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
}
