import type { Client } from "aedes";
import type { HubContext } from "../context.js";
import type { DropReason } from "../delivery/outbox.js";

type Deliver = (packet: { topic: string; payload: Buffer | string }, done: () => void) => void;

/** The two delivery functions aedes gives each client; subscriptions call one of them per message. */
interface Delivering {
  deliver0: Deliver;
  deliverQoS: Deliver;
}

/** PUBLISH framing beyond topic and payload: fixed header, lengths, packet id. */
const PACKET_OVERHEAD_BYTES = 8;

/**
 * Keep one MQTT subscriber from holding back the others.
 *
 * aedes hands every message to its subscribers through one emitter that waits until each of
 * them has called back (mqemitter, at most `concurrency` messages in flight), and a subscriber
 * calls back only once its socket took the packet: a full socket waits for `drain`
 * (`lib/write.js`, `client.waitForDrain`). So a subscriber that stops reading holds a slot per
 * message, and once `concurrency` messages are held every subscriber of every org stalls until
 * aedes' drain timeout drops the stuck one (29.5 s measured).
 *
 * Here, on the client's own object before it subscribes to anything (restored sessions
 * included), both delivery functions answer the emitter at once and let aedes' write go on
 * behind them. Its writes stay in order (aedes schedules each on its own `setImmediate`), and
 * what one client has been handed but not yet written is bounded by the send buffer
 * (`sendBufferBytes`, as for SSE): past it the client is disconnected, like a dropped SSE
 * reader, instead of being buffered for. A socket that takes nothing for `writeTimeoutMs` is
 * closed by aedes' drain timeout, which the broker sets to the same value.
 *
 * Returns the bytes this client holds, for the hub's memory accounting.
 */
export function isolateSubscriber(
  client: Client,
  ctx: HubContext,
  onDrop: (reason: DropReason) => void,
): { readonly bufferedBytes: number } {
  const delivering = client as unknown as Delivering;
  const cap = ctx.delivery.limits.sendBufferBytes;
  let outstanding = 0;
  let dropped = false;
  const decouple =
    (deliver: Deliver): Deliver =>
    (packet, done) => {
      if (dropped) {
        done();
        return;
      }
      const bytes = packetBytes(packet);
      if (outstanding + client.conn.writableLength + bytes > cap) {
        dropped = true;
        ctx.metrics.slowConsumerDrops.inc({ kind: "mqtt", reason: "buffer_full" });
        onDrop("buffer_full");
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
      return dropped ? 0 : outstanding + client.conn.writableLength;
    },
  };
}

function packetBytes(packet: { topic: string; payload: Buffer | string }): number {
  const payload =
    typeof packet.payload === "string" ? Buffer.byteLength(packet.payload) : packet.payload.length;
  return payload + Buffer.byteLength(packet.topic) + PACKET_OVERHEAD_BYTES;
}
