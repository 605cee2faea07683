import type { Aedes, Client } from "aedes";

interface HeldPacket {
  messageId?: number;
}

/** What the hub uses of aedes' persistence (the in-memory one), beyond aedes' typings. */
interface SessionStore {
  /** A client's inbound QoS 2 publishes, held until their PUBREL. */
  incomingStorePacket(client: Client, packet: object): Promise<void>;
  incomingGetPacket(client: Client, packet: HeldPacket): Promise<unknown>;
  incomingDelPacket(client: Client, packet: HeldPacket): Promise<void>;
  cleanIncoming(client: { id: string }): Promise<void>;
  /** A session's subscriptions, kept under its client id. */
  cleanSubscriptions(client: { id: string }): Promise<void>;
}

const EMPTY = Buffer.alloc(0);

function storeOf(broker: Aedes): SessionStore {
  return (broker as unknown as { persistence: SessionStore }).persistence;
}

/**
 * Keep only the packet id of a QoS 2 publish waiting for its PUBREL.
 *
 * aedes stores each inbound QoS 2 PUBLISH whole until the client's PUBREL, up to 1,000 per
 * connection (`maxInflightInbound`), and a client that never sends PUBREL keeps them: 200
 * publishes of 4 MB grew the hub by 780 MB, and a connection could pin 4 GB. The hub has
 * ingested the payload by then (`authorizePublish`) and aedes 1.2 reads the stored packet only to
 * know the id is taken (a resent PUBLISH is acknowledged, not routed again), so the copy it keeps
 * is the id alone.
 */
export function keepInboundQoS2Small(broker: Aedes): void {
  const store = storeOf(broker);
  const storePacket = store.incomingStorePacket.bind(store);
  const delPacket = store.incomingDelPacket.bind(store);
  const clean = store.cleanIncoming.bind(store);
  /** The ids each session (client id) holds: see MAX_HELD_QOS2. */
  const held = new Map<string, Set<number>>();
  store.incomingStorePacket = (client, packet) => {
    const id = (packet as HeldPacket).messageId;
    if (id !== undefined) {
      const ids = held.get(client.id) ?? new Set<number>();
      if (!ids.has(id) && ids.size >= MAX_HELD_QOS2)
        return Promise.reject(
          new Error(`more than ${MAX_HELD_QOS2} QoS 2 publishes of this session await PUBREL`),
        );
      ids.add(id);
      held.set(client.id, ids);
    }
    return storePacket(client, {
      cmd: "publish",
      topic: "",
      payload: EMPTY,
      qos: 2,
      retain: false,
      messageId: id,
    });
  };
  store.incomingDelPacket = (client, packet) => {
    const ids = held.get(client.id);
    if (ids && packet.messageId !== undefined) {
      ids.delete(packet.messageId);
      if (ids.size === 0) held.delete(client.id);
    }
    return delPacket(client, packet);
  };
  store.cleanIncoming = (client) => {
    held.delete(client.id);
    return clean(client);
  };
}

/**
 * QoS 2 publishes one session may hold awaiting PUBREL, across its connections. aedes bounds
 * them per connection (`maxInflightInbound`, 1,000), but the ids belong to the session: a
 * client that reconnected with `clean=false` got 1,000 more each time (65,000 held by one
 * session in a probe, 16 MB). Past this the connection is closed, as aedes does past its own.
 */
export const MAX_HELD_QOS2 = 1000;

/**
 * Whether a QoS 2 `packet` is one the client already sent and the broker holds until its
 * PUBREL: a resend (after a reconnect, DUP set) that must not be ingested twice. aedes checks
 * this only after `authorizePublish`, where the hub ingests.
 */
export async function isResentQoS2(client: Client, packet: HeldPacket): Promise<boolean> {
  if (packet.messageId === undefined) return false;
  const broker = (client as unknown as { broker?: Aedes }).broker;
  if (broker === undefined) return false;
  return storeOf(broker)
    .incomingGetPacket(client, packet)
    .then(
      () => true,
      () => false,
    );
}

/** Remove the persistent session kept under `clientId` (not connected): its subscriptions and held packets. */
export async function forgetSession(broker: Aedes, clientId: string): Promise<void> {
  const store = storeOf(broker);
  await store.cleanSubscriptions({ id: clientId });
  await store.cleanIncoming({ id: clientId });
}
