import type { Duplex } from "node:stream";
import { MAX_BODY_BYTES, MAX_EVENT_BYTES } from "@chorus/protocol";

/**
 * Largest MQTT packet a client may send: a full ingest batch (the HTTP body limit) plus room
 * for the topic and headers. aedes' parser has no limit of its own and would buffer whatever a
 * packet's header announces (up to 256 MiB).
 */
export const MAX_MQTT_PACKET_BYTES = MAX_BODY_BYTES + 64 * 1024;
/**
 * Largest first packet, the CONNECT (MQTT-3.1.0-1), read before the client is authenticated:
 * room for a will of one event plus client id, username and password. With the whole packet limit
 * here, 100 unauthenticated sockets each sending 4 MiB of a CONNECT they never finished held
 * 400 MB of the hub until the connect timeout.
 */
export const MAX_CONNECT_PACKET_BYTES = MAX_EVENT_BYTES + 64 * 1024;
/** The "remaining length" of an MQTT fixed header takes at most four bytes (MQTT 3.1.1, 2.2.3). */
const MAX_LENGTH_BYTES = 4;
/**
 * How long one packet may take to arrive once it started. aedes buffers a packet until it is
 * whole, and after CONNECT nothing else bounds the wait (a client may disable keepalive): 10
 * connections each sending all but the last byte of a 4 MiB PUBLISH held 43 MB for as long as
 * they stayed open, at 1 byte a second too. A minute asks ~70 KB/s of a client sending the
 * largest packet; one that cannot should send smaller batches.
 */
export const PACKET_DEADLINE_MS = 60_000;

/** What to do about a packet that started and did not finish within `afterMs`. */
export interface StalledPacket {
  afterMs: number;
  onStalled: () => void;
}

/**
 * Watch the bytes the broker reads from a connection and destroy the connection as soon as one
 * packet's fixed header announces more than `max` bytes (`firstMax` for the first packet, the
 * CONNECT), before the body is buffered.
 *
 * Only the fixed header is read (type byte and remaining length); the rest is skipped by count.
 * The listener sees each chunk when aedes `read()`s it: with aedes' `'readable'` listener in
 * place, a `'data'` listener does not change how the stream flows. With `stalled`, a packet
 * that started and is not whole `afterMs` later (see {@link PACKET_DEADLINE_MS}) destroys the
 * connection too.
 */
export function limitPacketSize(
  stream: Duplex,
  max: number,
  onExceeded: (announced: number | undefined, limit: number) => void,
  firstMax = max,
  stalled?: StalledPacket,
): void {
  let limit = firstMax;
  let skip = 0;
  let inHeader = false;
  let length = 0;
  let multiplier = 1;
  let lengthBytes = 0;
  /** Packets started so far, and the one the deadline timer watches. */
  let started = 0;
  let watched = 0;
  let timer: NodeJS.Timeout | undefined;
  const stop = () => {
    stream.off("data", watch);
    clearTimeout(timer);
  };
  const exceed = (announced: number | undefined) => {
    stop();
    onExceeded(announced, limit);
    stream.destroy();
  };
  const deadline = () => {
    if (!stalled) return;
    const midPacket = inHeader || skip > 0;
    if (!midPacket) {
      clearTimeout(timer);
      timer = undefined;
    } else if (timer === undefined || watched !== started) {
      clearTimeout(timer);
      watched = started;
      timer = setTimeout(() => {
        timer = undefined;
        if (watched !== started || !(inHeader || skip > 0)) return;
        stop();
        stalled.onStalled();
        stream.destroy();
      }, stalled.afterMs);
      timer.unref();
    }
  };
  stream.once("close", () => clearTimeout(timer));
  const watch = (chunk: Buffer) => {
    read(chunk);
    if (!stream.destroyed) deadline();
  };
  const read = (chunk: Buffer) => {
    let i = 0;
    while (i < chunk.length) {
      if (skip > 0) {
        const n = Math.min(skip, chunk.length - i);
        skip -= n;
        i += n;
        continue;
      }
      const byte = chunk[i++] as number;
      if (!inHeader) {
        // The packet type byte; the remaining length follows.
        started++;
        inHeader = true;
        length = 0;
        multiplier = 1;
        lengthBytes = 0;
        continue;
      }
      length += (byte & 0x7f) * multiplier;
      multiplier *= 128;
      lengthBytes++;
      if (byte & 0x80) {
        if (lengthBytes >= MAX_LENGTH_BYTES) return exceed(undefined); // malformed length
        continue;
      }
      if (length > limit) return exceed(length);
      limit = max;
      inHeader = false;
      skip = length;
    }
  };
  stream.on("data", watch);
}
