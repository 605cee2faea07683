import type { HubLogger } from "../config.js";
import type { HubMetrics } from "../metrics.js";
import type { Store } from "../store/types.js";
import type { CommitSignal } from "./commit-signal.js";
import { Flusher } from "./flusher.js";
import type { DeliveryLimits } from "./limits.js";
import { type ConnectionKind, type DropReason, Outbox, type OutboxTarget } from "./outbox.js";
import { ReplayPages } from "./replay-pages.js";
import { SseIndex } from "./sse-index.js";
import { StreamCap } from "./stream-cap.js";
import { DeliveryTail } from "./tail.js";

/** Something holding bytes for one connection, for the hub's own memory accounting. */
export interface BufferAccount {
  readonly kind: ConnectionKind;
  /** Bytes held now: queued, in the socket's buffer, or kept for the replay seam. */
  readonly bufferedBytes: number;
}

export interface DeliveryDeps {
  store: Store;
  commits: CommitSignal;
  metrics: HubMetrics;
  logger: HubLogger;
  limits: DeliveryLimits;
}

/** The delivery engine of one hub: the shared tail, the SSE index, per-key caps, accounting. */
export class DeliveryEngine {
  readonly tail: DeliveryTail;
  readonly flusher = new Flusher();
  readonly sse = new SseIndex();
  readonly streams: StreamCap;
  /** MQTT connections per key, against the same `maxStreamsPerKey` as SSE streams. */
  readonly mqttConnections: StreamCap;
  readonly limits: DeliveryLimits;
  /** Pages of history read for one replaying reader, for the others right behind it. */
  readonly replayPages: ReplayPages;
  readonly #accounts = new Set<BufferAccount>();
  readonly #metrics: HubMetrics;

  constructor(deps: DeliveryDeps) {
    this.limits = deps.limits;
    this.#metrics = deps.metrics;
    this.streams = new StreamCap(deps.limits.maxStreamsPerKey);
    this.mqttConnections = new StreamCap(deps.limits.maxStreamsPerKey);
    this.tail = new DeliveryTail({
      ...deps,
      flusher: this.flusher,
      recentBytes: deps.limits.replayCacheBytes,
    });
    this.tail.addSink(this.sse);
    this.replayPages = new ReplayPages(Math.floor(deps.limits.replayCacheBytes / 2));
    deps.metrics.bufferedBytes = () => this.bufferedBytes();
    deps.metrics.cachedBytes = () => ({
      recent: this.tail.recent.bytes,
      pages: this.replayPages.bytes,
    });
  }

  start(): Promise<void> {
    return this.tail.start();
  }

  close(): void {
    this.tail.close();
  }

  /** A bounded send buffer for one connection. */
  outbox(target: OutboxTarget, kind: ConnectionKind, onDrop: (reason: DropReason) => void): Outbox {
    return new Outbox(target, {
      kind,
      limits: this.limits,
      flusher: this.flusher,
      metrics: this.#metrics,
      onDrop,
    });
  }

  /** Count a connection's bytes in {@link bufferedBytes} until the returned function is called. */
  account(account: BufferAccount): () => void {
    this.#accounts.add(account);
    return () => this.#accounts.delete(account);
  }

  /** Bytes every open connection holds, by kind: the hub's own answer to "what do watchers cost". */
  bufferedBytes(): Record<ConnectionKind, number> {
    const total: Record<ConnectionKind, number> = { sse: 0, mqtt: 0 };
    for (const account of this.#accounts) total[account.kind] += account.bufferedBytes;
    return total;
  }
}
