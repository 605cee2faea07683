import { connect as connectTcp, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Hub } from "../src/index.js";
import { MAX_HELD_QOS2 } from "../src/mqtt/persistence.js";
import { KEY_A, ORG_A, startTestHub } from "./helpers.js";
import { remainingLength } from "./mqtt-helpers.js";

/*
 * QoS 2 publishes held for their PUBREL are bounded per session, not per connection: a client
 * that withholds PUBREL and reconnects with clean=false must not get a fresh allowance each time.
 * mqtt.js always answers PUBREC with PUBREL, so the packets are written by hand (MQTT 3.1.1).
 */

const str = (text: string) => {
  const bytes = Buffer.from(text);
  return [bytes.length >> 8, bytes.length & 0xff, ...bytes];
};
const packet = (type: number, body: number[]) =>
  Buffer.from([type, ...remainingLength(body.length), ...body]);
const connectPacket = (clientId: string) =>
  packet(0x10, [...str("MQTT"), 4, 0xc0, 0, 0, ...str(clientId), ...str(ORG_A), ...str(KEY_A)]);
/** A QoS 2 PUBLISH of a payload the hub drops (not an event): only the held id matters. */
const publishQoS2 = (id: number) =>
  packet(0x34, [...str(`chorus-in/${ORG_A}`), id >> 8, id & 0xff, ...Buffer.from("x")]);

/** A raw session: the bytes it received, and whether the hub closed it. */
async function session(hub: Hub, clientId: string) {
  const url = new URL(hub.mqttUrl!);
  const socket: Socket = connectTcp(Number(url.port), url.hostname);
  const state = { received: Buffer.alloc(0), closed: false, socket };
  socket.on("data", (d) => {
    state.received = Buffer.concat([state.received, d]);
  });
  socket.on("close", () => {
    state.closed = true;
  });
  socket.on("error", () => {});
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  socket.write(connectPacket(clientId));
  await expect.poll(() => state.received.length).toBeGreaterThanOrEqual(4);
  expect([...state.received.subarray(0, 4)].slice(0, 2)).toEqual([0x20, 2]);
  return state;
}
/** PUBRECs received: after the 4-byte CONNACK, each is 4 bytes (0x50 0x02 id id). */
const pubrecs = (bytes: Buffer) => Math.floor((bytes.length - 4) / 4);

let hub: Hub;
beforeAll(async () => {
  hub = await startTestHub({ rateLimit: "off" });
});
afterAll(() => hub?.close());

describe("QoS 2 publishes awaiting PUBREL", () => {
  it(`are held at most ${MAX_HELD_QOS2} per session, across reconnects with clean=false`, async () => {
    const first = await session(hub, "q2-session");
    const ids = Array.from({ length: MAX_HELD_QOS2 }, (_, i) => i + 1);
    first.socket.write(Buffer.concat(ids.map(publishQoS2)));
    await expect.poll(() => pubrecs(first.received), { timeout: 10_000 }).toBe(MAX_HELD_QOS2);
    first.socket.destroy();
    await expect.poll(() => first.closed).toBe(true);

    // The same session again: its held ids still count, so a new one closes the connection.
    const second = await session(hub, "q2-session");
    second.socket.write(publishQoS2(MAX_HELD_QOS2 + 1));
    await expect.poll(() => second.closed, { timeout: 10_000 }).toBe(true);
    expect(pubrecs(second.received)).toBe(0);

    // A resend of a held id is answered (PUBREC), not refused: the bound counts ids, not packets.
    const third = await session(hub, "q2-session");
    third.socket.write(publishQoS2(1));
    await expect.poll(() => pubrecs(third.received)).toBe(1);
    expect(third.closed).toBe(false);
    third.socket.destroy();
  }, 30_000);
});
