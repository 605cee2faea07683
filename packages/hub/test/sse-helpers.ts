import { createConnection, createServer, type Server, type Socket } from "node:net";
import { SSE_READY_EVENT, SSE_SNAPSHOT_EVENT } from "@chorus/protocol";
import { EventSource } from "eventsource";
import type { Hub } from "../src/index.js";
import { KEY_A } from "./helpers.js";

/** One SSE message as a client sees it. */
export interface SseFrame {
  id?: string;
  event?: string;
  data: any;
}

/**
 * Read an SSE endpoint with plain fetch and a minimal parser, keeping the raw text so tests
 * can assert the exact framing.
 */
export async function readSse(
  hub: Hub | string,
  path: string,
  init: { key?: string; headers?: Record<string, string> } = {},
) {
  const base = typeof hub === "string" ? hub : hub.url;
  const controller = new AbortController();
  const res = await fetch(`${base}${path}`, {
    headers: { authorization: `Bearer ${init.key ?? KEY_A}`, ...init.headers },
    signal: controller.signal,
  });
  const frames: SseFrame[] = [];
  let readyAfter: number | undefined;
  const snapshots: SseFrame[] = [];
  let raw = "";
  let ended = false;
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of waiters) w();
  };
  const pump = (async () => {
    if (!res.body) return;
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const chunk of res.body) {
        const text = decoder.decode(chunk, { stream: true });
        raw += text;
        buffer += text;
        let end = buffer.indexOf("\n\n");
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const frame = parseBlock(block);
          // The stream's opening `chorus.ready` marks where it starts; tests read it apart.
          if (frame?.event === SSE_READY_EVENT) readyAfter = Number(frame.id);
          else if (frame?.event === SSE_SNAPSHOT_EVENT) snapshots.push(frame);
          else if (frame) frames.push(frame);
          end = buffer.indexOf("\n\n");
        }
        wake();
      }
    } catch {
      // aborted by close()
    }
    ended = true;
    wake();
  })();

  return {
    res,
    frames,
    get raw() {
      return raw;
    },
    /** The seq the stream said it starts after (its `chorus.ready` message). */
    get readyAfter() {
      return readyAfter;
    },
    /** The `chorus.snapshot` messages of an intent stream (one per connection). */
    snapshots,
    get ended() {
      return ended;
    },
    /** Resolve once `predicate` holds (checked after every chunk), or reject after `ms`. */
    async until(predicate: () => boolean, ms = 5000): Promise<void> {
      if (predicate()) return;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out; got ${frames.length} frames: ${raw.slice(-500)}`));
        }, ms);
        const check = () => {
          if (predicate() || ended) {
            clearTimeout(timer);
            waiters.delete(check);
            if (predicate()) resolve();
            else reject(new Error(`stream ended; got ${frames.length} frames`));
          }
        };
        waiters.add(check);
      });
    },
    async close(): Promise<void> {
      controller.abort();
      await pump;
    },
  };
}

function parseBlock(block: string): SseFrame | undefined {
  const frame: { id?: string; event?: string; data?: string } = {};
  for (const line of block.split("\n")) {
    if (line.startsWith(":") || line.startsWith("retry:")) continue;
    const colon = line.indexOf(":");
    const field = line.slice(0, colon);
    const value = line.slice(colon + 1).replace(/^ /, "");
    if (field === "data") frame.data = frame.data === undefined ? value : `${frame.data}\n${value}`;
    else if (field === "id") frame.id = value;
    else if (field === "event") frame.event = value;
  }
  if (frame.data === undefined) return undefined;
  return { id: frame.id, event: frame.event, data: JSON.parse(frame.data) };
}

/** An `EventSource` (the `eventsource` package) that authenticates with a bearer key. */
export function authedEventSource(url: string, key = KEY_A): EventSource {
  return new EventSource(url, {
    fetch: (input, init) =>
      fetch(input, {
        ...init,
        headers: { ...(init?.headers as Record<string, string>), authorization: `Bearer ${key}` },
      }),
  });
}

/**
 * A TCP relay in front of the hub. `drop()` cuts every connection mid-stream, as a flaky
 * network or a restarting proxy would, so clients see a real disconnect rather than a close.
 */
export async function startRelay(
  hub: Hub,
): Promise<{ url: string; drop(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: "127.0.0.1", port: hub.httpPort });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {});
    }
    client.pipe(upstream).pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    drop() {
      for (const s of sockets) s.destroy();
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
