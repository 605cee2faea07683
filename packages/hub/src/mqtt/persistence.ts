import type { Aedes, Client } from "aedes";

interface HeldPacket {
  messageId?: number;
}

/** What the hub uses of aedes' persistence (the in-memory one), beyond aedes' typings. */
interface SessionStore {
  /** A client's inbound QoS 2 publishes, held until their PUBREL. */
  incomingStorePacket(client: Client, packet: object): Promise<void>;
  incomingGetPacket(client: Client, packet: HeldPacket): Promise<unknown>;
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
  store.incomingStorePacket = (client, packet) =>
    storePacket(client, {
      cmd: "publish",
      topic: "",
      payload: EMPTY,
      qos: 2,
      retain: false,
      messageId: (packet as HeldPacket).messageId,
    });
}

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
