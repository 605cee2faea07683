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
 * Watch the bytes the broker reads from a connection and destroy the connection as soon as one
 * packet's fixed header announces more than `max` bytes (`firstMax` for the first packet, the
 * CONNECT), before the body is buffered.
 *
 * Only the fixed header is read (type byte and remaining length); the rest is skipped by count.
 * The listener sees each chunk when aedes `read()`s it: with aedes' `'readable'` listener in
 * place, a `'data'` listener does not change how the stream flows.
 */
export function limitPacketSize(
  stream: Duplex,
  max: number,
  onExceeded: (announced: number | undefined, limit: number) => void,
  firstMax = max,
): void {
  let limit = firstMax;
  let skip = 0;
  let inHeader = false;
  let length = 0;
  let multiplier = 1;
  let lengthBytes = 0;
  const exceed = (announced: number | undefined) => {
    stream.off("data", watch);
    onExceeded(announced, limit);
    stream.destroy();
  };
  const watch = (chunk: Buffer) => {
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
