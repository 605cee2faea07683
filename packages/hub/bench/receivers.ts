import { createConnection, type Socket } from "node:net";
import { createParser } from "eventsource-parser";
import mqtt, { type MqttClient } from "mqtt";
import mqttPacket from "mqtt-packet";
import { Agent, request } from "undici";
import { nowMs } from "./clock.js";
import { serve } from "./ipc.js";

/*
 * Receivers in their own process: SSE streams read with undici and parsed with
 * eventsource-parser, MQTT subscribers with mqtt.js. Every connection checks every event it
 * gets (ids strictly increasing, so nothing is duplicated or reordered, and a count, so nothing
 * is lost); the first `sample` connections of a group also record publish→receive latency from
 * the send time each event carries.
 */

interface Conn {
  received: number;
  last: number;
  /** Events out of order or repeated: must stay 0. */
  errors: number;
  latency: boolean;
}

interface Group {
  conns: Conn[];
  target: number | undefined;
  doneAt: number | undefined;
  latencies: number[];
  reconnects: number;
  closers: (() => void)[];
  closing: boolean;
}

const groups = new Map<string, Group>();
const agent = new Agent({ bodyTimeout: 0, headersTimeout: 0, keepAliveTimeout: 1 });

function group(name: string): Group {
  const found = groups.get(name);
  if (!found) throw new Error(`no receiver group ${name}`);
  return found;
}

function newGroup(name: string): Group {
  const made: Group = {
    conns: [],
    target: undefined,
    doneAt: undefined,
    latencies: [],
    reconnects: 0,
    closers: [],
    closing: false,
  };
  groups.set(name, made);
  return made;
}

/** One event arrived on `conn`: check its place in the sequence, maybe note its latency. */
function record(g: Group, conn: Conn, seq: number, body: () => string): void {
  if (!(seq > conn.last)) conn.errors++;
  conn.last = seq;
  conn.received++;
  if (conn.latency) {
    const sentAt = (JSON.parse(body()) as { payload?: { sentAt?: number } }).payload?.sentAt;
    if (typeof sentAt === "number") g.latencies.push(nowMs() - sentAt);
  }
  markDone(g, conn);
}

/** Note when the group's last connection reached its target (`received` counts per group). */
function markDone(g: Group, conn: Conn): void {
  if (g.target !== undefined && g.doneAt === undefined && conn.received >= g.target) {
    if (g.conns.every((c) => c.received >= (g.target as number))) g.doneAt = nowMs();
  }
}

async function openSse(
  g: Group,
  conn: Conn,
  url: string,
  key: string,
  lastEventId: string | undefined,
): Promise<void> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${key}`,
    accept: "text/event-stream",
  };
  if (lastEventId !== undefined) headers["last-event-id"] = lastEventId;
  const res = await request(url, { dispatcher: agent, headers });
  if (res.statusCode !== 200)
    throw new Error(`SSE ${url} answered ${res.statusCode}: ${await res.body.text()}`);
  let ready!: () => void;
  const readyP = new Promise<void>((resolve) => {
    ready = resolve;
  });
  const parser = createParser({
    onEvent(message) {
      if (message.event === "chorus.ready") {
        ready();
        return;
      }
      record(g, conn, Number(message.id), () => message.data);
    },
  });
  res.body.setEncoding("utf8");
  res.body.on("data", (chunk: string) => parser.feed(chunk));
  const again = () => {
    if (g.closing) return;
    // Dropped by the hub (fell a whole send buffer behind): resume from the last id, as
    // EventSource would, and count it.
    g.reconnects++;
    openSse(g, conn, url, key, String(conn.last)).catch(() => setTimeout(again, 100));
  };
  res.body.once("end", again);
  res.body.once("error", () => {});
  res.body.once("close", () => {});
  g.closers.push(() => res.body.destroy());
  await readyP;
}

async function openMqtt(g: Group, conn: Conn, url: string, password: string, topic: string) {
  const client: MqttClient = await mqtt.connectAsync(url, {
    username: "bench",
    password,
    reconnectPeriod: 0,
    clean: true,
  });
  client.on("error", () => {});
  client.on("close", () => {
    if (!g.closing) g.reconnects++;
  });
  client.on("message", (_topic, payload: Buffer) => {
    record(g, conn, seqOf(payload), () => payload.toString());
  });
  await client.subscribeAsync(topic, { qos: 0 });
  g.closers.push(() => client.end(true));
}

/** The `"seq":N` of a stored event's JSON, found without parsing all of it. */
function seqOf(payload: Buffer): number {
  const at = payload.indexOf('"seq":');
  if (at < 0) return Number.NaN;
  let n = 0;
  for (let i = at + 6; i < payload.length; i++) {
    const c = payload[i] as number;
    if (c < 48 || c > 57) break;
    n = n * 10 + (c - 48);
  }
  return n;
}

/**
 * An MQTT subscriber that connects, subscribes and then never reads a byte: a client on a
 * stalled network. The packets are made with mqtt-packet; the socket is paused from the start.
 */
async function openStuck(g: Group, host: string, port: number, password: string, topic: string) {
  const socket: Socket = createConnection({ host, port });
  socket.on("error", () => {});
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  socket.pause();
  socket.write(
    mqttPacket.generate({
      cmd: "connect",
      protocolId: "MQTT",
      protocolVersion: 4,
      clean: true,
      clientId: `stuck-${Math.random().toString(36).slice(2)}`,
      keepalive: 0,
      username: "bench",
      password: Buffer.from(password),
    }),
  );
  socket.write(
    mqttPacket.generate({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic, qos: 0 }] }),
  );
  g.closers.push(() => socket.destroy());
}

/**
 * An SSE reader that asks for a replay from the start and then reads nothing: the request is
 * written on a socket that is never read from (plain HTTP/1.0; no client library would hold a
 * response unread on purpose).
 */
async function openPausedSse(g: Group, port: number, key: string, path: string, after: number) {
  const socket: Socket = createConnection({ host: "127.0.0.1", port });
  socket.on("error", () => {});
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  socket.pause();
  socket.write(
    `GET ${path} HTTP/1.0\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${key}\r\nlast-event-id: ${after}\r\n\r\n`,
  );
  g.closers.push(() => socket.destroy());
}

/** Raw TCP readers that only count bytes: the cheapest possible receiving end. */
async function openSink(g: Group, conn: Conn, port: number): Promise<void> {
  const socket: Socket = createConnection({ host: "127.0.0.1", port });
  socket.on("error", () => {});
  socket.on("data", (chunk: Buffer) => {
    conn.received += chunk.length;
    markDone(g, conn);
  });
  g.closers.push(() => socket.destroy());
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
}

serve(async (m) => {
  switch (m.op) {
    case "sink": {
      const g = newGroup(m.group as string);
      for (let i = 0; i < (m.n as number); i++) {
        const conn: Conn = { received: 0, last: 0, errors: 0, latency: false };
        g.conns.push(conn);
        await openSink(g, conn, m.port as number);
      }
      return {};
    }
    case "sse": {
      const g = newGroup(m.group as string);
      if (typeof m.expect === "number") g.target = m.expect;
      const n = m.n as number;
      const sample = (m.sample as number) ?? 0;
      const opens: Promise<void>[] = [];
      for (let i = 0; i < n; i++) {
        const conn: Conn = {
          received: 0,
          last: Number(m.after ?? 0),
          errors: 0,
          latency: i < sample,
        };
        g.conns.push(conn);
        opens.push(
          openSse(g, conn, m.url as string, m.key as string, m.lastEventId as string | undefined),
        );
        // Connect in waves so a thousand handshakes do not all land in one tick.
        if (opens.length % 100 === 0) await Promise.all(opens.slice(-100));
      }
      await Promise.all(opens);
      return {};
    }
    case "mqtt": {
      const g = newGroup(m.group as string);
      const sample = (m.sample as number) ?? 0;
      const opens: Promise<void>[] = [];
      for (let i = 0; i < (m.n as number); i++) {
        const conn: Conn = { received: 0, last: 0, errors: 0, latency: i < sample };
        g.conns.push(conn);
        opens.push(openMqtt(g, conn, m.url as string, m.key as string, m.topic as string));
      }
      await Promise.all(opens);
      return {};
    }
    case "stuck": {
      const g = newGroup(m.group as string);
      for (let i = 0; i < (m.n as number); i++)
        await openStuck(g, m.host as string, m.port as number, m.key as string, m.topic as string);
      return {};
    }
    case "paused": {
      const g = newGroup(m.group as string);
      for (let i = 0; i < (m.n as number); i++)
        await openPausedSse(
          g,
          m.port as number,
          m.key as string,
          m.path as string,
          i * ((m.spacing as number | undefined) ?? 0),
        );
      return {};
    }
    case "expect": {
      const g = group(m.group as string);
      g.target = m.count as number;
      g.doneAt = g.conns.every((c) => c.received >= (g.target as number)) ? nowMs() : undefined;
      return {};
    }
    case "stats": {
      const g = group(m.group as string);
      let min = Number.POSITIVE_INFINITY;
      let max = 0;
      let errors = 0;
      let total = 0;
      for (const c of g.conns) {
        min = Math.min(min, c.received);
        max = Math.max(max, c.received);
        errors += c.errors;
        total += c.received;
      }
      return {
        min,
        max,
        total,
        errors,
        doneAt: g.doneAt,
        reconnects: g.reconnects,
        latencies: m.latencies ? g.latencies : undefined,
      };
    }
    case "reset": {
      const g = group(m.group as string);
      for (const c of g.conns) c.received = 0;
      g.latencies = [];
      g.target = undefined;
      g.doneAt = undefined;
      g.reconnects = 0;
      return {};
    }
    case "close": {
      const g = groups.get(m.group as string);
      if (g) {
        g.closing = true;
        for (const close of g.closers) close();
        groups.delete(m.group as string);
      }
      return {};
    }
    case "exit": {
      for (const g of groups.values()) {
        g.closing = true;
        for (const close of g.closers) close();
      }
      setImmediate(() => process.exit(0));
      return {};
    }
    default:
      throw new Error(`unknown op ${m.op}`);
  }
});
