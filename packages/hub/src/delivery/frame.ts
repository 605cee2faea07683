import { type ChorusEvent, eventTopic, formatSseMessage } from "@chorus/protocol";
import { eventJson } from "../store/rows.js";
import type { EventEnvelope } from "../store/types.js";
import mqttPacket from "mqtt-packet";

/**
 * One stored event as it goes out: serialized once, then the same bytes are written to every
 * SSE connection and MQTT subscriber that wants it. The SSE frame and the MQTT PUBLISH packet
 * are built on first use, so a hub without MQTT subscribers never encodes a packet.
 *
 * The tail makes frames from the store's envelope and the payload and metadata as stored
 * (JSON text), so a live event's payload is never parsed: what is delivered is that text,
 * spliced in when a connection first wants the frame. A frame made from a whole event
 * serializes it on first use instead.
 */
export class Frame {
  readonly org: string;
  /** What filters and topics read; the payload and metadata are in {@link json}. */
  readonly event: EventEnvelope;
  /** Until {@link json} is made from it. */
  #stored: StoredText | undefined;
  /** Approximate size (the store's measure), known before anything is serialized. */
  readonly size: number;
  #json: string | undefined;
  #sse: Buffer | undefined;
  #topic: string | undefined;
  #payload: Buffer | undefined;
  #mqtt: Buffer | undefined;

  constructor(org: string, event: ChorusEvent, size: number);
  constructor(org: string, event: EventEnvelope, size: number, stored: StoredText);
  constructor(org: string, event: EventEnvelope, size: number, stored?: StoredText) {
    this.org = org;
    this.event = event;
    this.size = size;
    this.#stored = stored;
  }

  get seq(): number {
    return this.event.seq;
  }

  get json(): string {
    if (this.#json === undefined) {
      const stored = this.#stored;
      this.#json = stored
        ? eventJson(this.event, stored.payload, stored.metadata)
        : JSON.stringify(this.event);
      this.#stored = undefined;
    }
    return this.#json;
  }

  get sse(): Buffer {
    this.#sse ??= Buffer.from(sseFrame(this.event, this.json));
    return this.#sse;
  }

  get topic(): string {
    this.#topic ??= eventTopic(this.org, this.event);
    return this.#topic;
  }

  /**
   * The MQTT payload, one buffer for every subscriber. The broker hands this very buffer to each
   * subscriber's delivery function, which finds the frame again by it ({@link frameOfPayload})
   * and writes {@link mqtt} instead of encoding a packet per subscriber.
   */
  get payload(): Buffer {
    if (this.#payload === undefined) {
      this.#payload = Buffer.from(this.json);
      byPayload.set(this.#payload, this);
    }
    return this.#payload;
  }

  /** A QoS 0 PUBLISH: no packet id, so every subscriber gets identical bytes. */
  get mqtt(): Buffer {
    this.#mqtt ??= mqttPacket.generate({
      cmd: "publish",
      topic: this.topic,
      payload: this.payload,
      qos: 0,
      retain: false,
      dup: false,
    });
    return this.#mqtt;
  }
}

/** An event's payload and metadata as the store holds them: JSON text. */
export interface StoredText {
  payload: string;
  metadata: string;
}

const byPayload = new WeakMap<Buffer, Frame>();

/** The frame whose {@link Frame.payload} this is, if any. */
export function frameOfPayload(payload: unknown): Frame | undefined {
  return payload instanceof Buffer ? byPayload.get(payload) : undefined;
}

/** The SSE message of a stored event, given its JSON (the same text `formatSseEvent` makes). */
export function sseFrame(event: Pick<ChorusEvent, "seq" | "type">, json: string): string {
  return formatSseMessage({ id: event.seq, event: event.type, data: json });
}
