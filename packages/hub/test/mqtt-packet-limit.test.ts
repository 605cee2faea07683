import { connect, type Socket } from "node:net";
import { PassThrough } from "node:stream";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Hub } from "../src/index.js";
import {
  limitPacketSize,
  MAX_CONNECT_PACKET_BYTES,
  MAX_MQTT_PACKET_BYTES,
} from "../src/mqtt/packet-limit.js";
import { KEY_A, startTestHub } from "./helpers.js";
import { remainingLength } from "./mqtt-helpers.js";

/** A stream read the way aedes reads it: a 'readable' listener calling read(). */
function readLikeAedes() {
  const stream = new PassThrough();
  const seen: Buffer[] = [];
  stream.on("readable", () => {
    for (let chunk = stream.read(); chunk !== null; chunk = stream.read()) seen.push(chunk);
  });
  return { stream, seen };
}

describe("limitPacketSize", () => {
  it("lets packets up to the limit through, split across chunks anyhow", async () => {
    const { stream, seen } = readLikeAedes();
    const exceeded: unknown[] = [];
    limitPacketSize(stream, 300, (n) => exceeded.push(n));
    const packet = (size: number) =>
      Buffer.from([0x30, ...remainingLength(size), ...Buffer.alloc(size)]);
    const bytes = Buffer.concat([packet(0), packet(300), packet(127), packet(128)]);
    for (let i = 0; i < bytes.length; i += 7) stream.write(bytes.subarray(i, i + 7));
    await new Promise((r) => setImmediate(r));
    expect(exceeded).toEqual([]);
    expect(Buffer.concat(seen)).toEqual(bytes);
    expect(stream.destroyed).toBe(false);
  });

  it("destroys the stream when a packet started and is not whole within its deadline, trickled or not", async () => {
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    for (const trickle of [false, true]) {
      const { stream } = readLikeAedes();
      let stalled = 0;
      limitPacketSize(stream, 300, () => {}, 300, { afterMs: 60, onStalled: () => stalled++ });
      stream.write(Buffer.from([0x30, ...remainingLength(200), ...Buffer.alloc(100)]));
      // Bytes that keep coming do not move the deadline: a packet has this long, all told.
      for (let i = 0; i < 20 && !stream.destroyed; i++) {
        await sleep(10);
        if (trickle) stream.write(Buffer.alloc(1));
      }
      await expect.poll(() => stream.destroyed).toBe(true);
      expect(stalled).toBe(1);
    }
  });

  it("lets a connection idle between whole packets for as long as it likes", async () => {
    const { stream } = readLikeAedes();
    let stalled = 0;
    limitPacketSize(stream, 300, () => {}, 300, { afterMs: 30, onStalled: () => stalled++ });
    const packet = Buffer.from([0x30, ...remainingLength(100), ...Buffer.alloc(100)]);
    stream.write(packet.subarray(0, 50));
    stream.write(packet.subarray(50));
    await new Promise((r) => setTimeout(r, 120));
    expect(stream.destroyed).toBe(false);
    expect(stalled).toBe(0);
  });

  it("destroys the stream at the header of a packet over the limit", async () => {
    const { stream } = readLikeAedes();
    const exceeded: unknown[] = [];
    limitPacketSize(stream, 300, (n) => exceeded.push(n));
    stream.write(Buffer.from([0x30, ...remainingLength(10), ...Buffer.alloc(10)]));
    stream.write(Buffer.from([0x30, ...remainingLength(301)]));
    await new Promise((r) => setImmediate(r));
    expect(exceeded).toEqual([301]);
    expect(stream.destroyed).toBe(true);
  });

  it("holds the first packet (the CONNECT) to its own, lower limit", async () => {
    const packet = (size: number) =>
      Buffer.from([0x30, ...remainingLength(size), ...Buffer.alloc(size)]);
    const ok = readLikeAedes();
    const none: unknown[] = [];
    limitPacketSize(ok.stream, 300, (n) => none.push(n), 100);
    ok.stream.write(Buffer.concat([packet(100), packet(300)]));
    await new Promise((r) => setImmediate(r));
    expect(none).toEqual([]);

    const over = readLikeAedes();
    const exceeded: unknown[] = [];
    limitPacketSize(over.stream, 300, (n, limit) => exceeded.push([n, limit]), 100);
    over.stream.write(Buffer.from([0x10, ...remainingLength(101)]));
    await new Promise((r) => setImmediate(r));
    expect(exceeded).toEqual([[101, 100]]);
    expect(over.stream.destroyed).toBe(true);
  });

  it("treats a remaining length longer than four bytes as malformed", async () => {
    const { stream } = readLikeAedes();
    const exceeded: unknown[] = [];
    limitPacketSize(stream, 1e9, (n) => exceeded.push(n));
    stream.write(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]));
    await new Promise((r) => setImmediate(r));
    expect(exceeded).toEqual([undefined]);
  });
});

describe("the hub's broker", () => {
  let hub: Hub;
  beforeAll(async () => {
    hub = await startTestHub();
  });
  afterAll(async () => {
    await hub.close();
  });

  it("closes a TCP connection whose packet announces more than the limit, and keeps serving", async () => {
    const socket: Socket = connect(hub.mqttPort!, "127.0.0.1");
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    socket.on("error", () => {});
    // A CONNECT whose header announces 100 MiB more than the broker accepts.
    socket.write(
      Buffer.from([0x10, ...remainingLength(MAX_MQTT_PACKET_BYTES + 100 * 1024 * 1024)]),
    );
    socket.write(Buffer.alloc(64 * 1024));
    await closed;

    const client = await mqtt.connectAsync(hub.mqttUrl!, {
      username: "any",
      password: KEY_A,
      reconnectPeriod: 0,
    });
    expect(client.connected).toBe(true);
    await client.endAsync();
    const metrics = await (await fetch(`${hub.url}/metrics`)).text();
    expect(metrics).toMatch(/chorus_mqtt_denied_total\{kind="packet_too_large"\} 1/);
  });

  it("closes a connection whose CONNECT is larger than a CONNECT needs, before it is read", async () => {
    const socket: Socket = connect(hub.mqttPort!, "127.0.0.1");
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    socket.on("error", () => {});
    // Within the limit of later packets, not of an unauthenticated client's first.
    socket.write(Buffer.from([0x10, ...remainingLength(MAX_CONNECT_PACKET_BYTES + 1)]));
    socket.write(Buffer.alloc(64 * 1024));
    await closed;
    const metrics = await (await fetch(`${hub.url}/metrics`)).text();
    expect(metrics).toMatch(/chorus_mqtt_denied_total\{kind="packet_too_large"\} 2/);
  });

  it("closes a WebSocket whose first message is larger than a CONNECT needs, before it is read", async () => {
    const socket: Socket = connect(Number(new URL(hub.url).port), "127.0.0.1");
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    socket.on("error", () => {});
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    socket.write(
      "GET /mqtt HTTP/1.1\r\nHost: hub\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
        "Sec-WebSocket-Protocol: mqtt\r\n\r\n",
    );
    const answer = await new Promise<Buffer>((resolve) => socket.once("data", resolve));
    expect(answer.toString()).toMatch(/^HTTP\/1.1 101/);
    // A masked binary frame announcing 1 MiB (a zero mask key), and its first 64 KiB.
    const header = Buffer.alloc(14);
    header[0] = 0x82;
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(1024 * 1024), 2);
    socket.write(header);
    socket.write(Buffer.alloc(64 * 1024));
    await closed;
  });

  it.each(["TCP", "WebSocket"])(
    "takes a publish past the CONNECT limit once the client is in (%s)",
    async (via) => {
      const client = await mqtt.connectAsync(via === "TCP" ? hub.mqttUrl! : hub.wsUrl, {
        username: "any",
        password: KEY_A,
        reconnectPeriod: 0,
      });
      const events = Array.from({ length: 8 }, (_, i) => ({
        channel: `large-${via}`,
        type: "custom",
        payload: { i, text: "x".repeat(MAX_CONNECT_PACKET_BYTES / 8) },
      }));
      await client.publishAsync("chorus-in/acme", JSON.stringify({ events }), { qos: 1 });
      expect(client.connected).toBe(true);
      await client.endAsync();
      const listed = (await (
        await fetch(`${hub.url}/v1/events?channel=large-${via}`, {
          headers: { authorization: `Bearer ${KEY_A}` },
        })
      ).json()) as { data: unknown[] };
      expect(listed.data).toHaveLength(8);
    },
  );
});
