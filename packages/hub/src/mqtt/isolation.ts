import type { Client } from "aedes";
import type { HubContext } from "../context.js";
import { frameOfPayload } from "../delivery/frame.js";
import type { DropReason } from "../delivery/outbox.js";

interface DeliveredPacket {
  topic: string;
  payload: Buffer | string;
  qos?: number;
  retain?: boolean;
}
type Deliver = (packet: DeliveredPacket, done: () => void) => void;

/** The parts of aedes' client this module uses beyond its typings. */
interface DeliveringClient {
  deliver0: Deliver;
  deliverQoS: Deliver;
  connected: boolean;
  broker: { authorizeForward(client: Client, packet: DeliveredPacket): DeliveredPacket | null };
}

/** PUBLISH framing beyond topic and payload: fixed header, lengths, packet id. */
const PACKET_OVERHEAD_BYTES = 8;

/**
 * Keep one MQTT subscriber from holding back the others, and write stored events to every
 * subscriber as the same bytes.
 *
 * aedes hands every message to its subscribers through one emitter that waits until each of
 * them has called back (mqemitter, at most `concurrency` messages in flight), and a subscriber
 * calls back only once its socket took the packet: a full socket waits for `drain`
 * (`lib/write.js`, `client.waitForDrain`). So a subscriber that stops reading holds a slot per
 * message, and once `concurrency` messages are held every subscriber of every org stalls until
 * aedes' drain timeout drops the stuck one (29.5 s measured). aedes also encodes a packet per
 * subscriber, on a `setImmediate` per subscriber: 100 subscribers cost 100 encodings and 100
 * writes per event.
 *
 * Here, on the client's own object before it subscribes to anything (restored sessions
 * included), both delivery functions answer the emitter at once:
 *
 * - A stored event (the hub's canonical QoS 0 publish, found by its payload buffer) goes
 *   through the connection's {@link Outbox}, as SSE does: the frame's PUBLISH bytes, encoded
 *   once for every subscriber, one write per connection per flusher pass, the send buffer
 *   bound (`sendBufferBytes`) and the write timeout. A reader that falls a whole buffer behind
 *   is disconnected instead of being buffered for. aedes' checks still apply: the forward
 *   authorization (same org), and an event reaches a client once however many of its
 *   subscriptions match.
 * - Anything else keeps aedes' own write, behind the answered emitter; what was handed on but
 *   not yet written is the hub's own queue (written on the next turn) and only accounted; the
 *   socket's backlog decides a drop.
 *
 * Returns the bytes this client holds, for the hub's memory accounting.
 */
export function isolateSubscriber(
  client: Client,
  ctx: HubContext,
  onDrop: (reason: DropReason) => void,
): { readonly bufferedBytes: number } {
  const delivering = client as unknown as DeliveringClient;
  const cap = ctx.delivery.limits.sendBufferBytes;
  let outstanding = 0;
  let dropped = false;
  const drop = (reason: DropReason) => {
    if (dropped) return;
    dropped = true;
    onDrop(reason);
  };
  const outbox = ctx.delivery.outbox(client.conn, "mqtt", drop);
  client.conn.once("close", () => outbox.close());
  /** The newest stored event written to this client: overlapping subscriptions match it again. */
  let lastSeq = 0;

  const decouple =
    (deliver: Deliver): Deliver =>
    (packet, done) => {
      if (dropped) {
        done();
        return;
      }
      const frame = packet.qos || packet.retain ? undefined : frameOfPayload(packet.payload);
      if (frame) {
        if (
          frame.seq > lastSeq &&
          delivering.connected &&
          delivering.broker.authorizeForward(client, packet)
        ) {
          lastSeq = frame.seq;
          outbox.push(frame.mqtt);
        }
        done();
        return;
      }
      const bytes = packetBytes(packet);
      // Only the socket's backlog says the reader is behind: what it has accepted and the
      // kernel has not taken. `outstanding` is the hub's own queue, written on the next turn
      // of the loop whatever the reader does; counting it would drop a healthy reader on every
      // burst larger than its buffer.
      if (client.conn.writableLength + bytes > cap) {
        ctx.metrics.slowConsumerDrops.inc({ kind: "mqtt", reason: "buffer_full" });
        drop("buffer_full");
        done();
        return;
      }
      outstanding += bytes;
      deliver(packet, () => {
        outstanding -= bytes;
      });
      done();
    };
  // aedes' own `deliverQoS` calls `this.deliver0` for a QoS 0 message, so it reaches the
  // decoupled one; wrapping both is still needed, as a subscription holds whichever it was given.
  delivering.deliver0 = decouple(delivering.deliver0);
  delivering.deliverQoS = decouple(delivering.deliverQoS);
  return {
    get bufferedBytes() {
      return dropped ? 0 : outstanding + outbox.buffered;
    },
  };
}

function packetBytes(packet: DeliveredPacket): number {
  const payload =
    typeof packet.payload === "string" ? Buffer.byteLength(packet.payload) : packet.payload.length;
  return payload + Buffer.byteLength(packet.topic) + PACKET_OVERHEAD_BYTES;
}
