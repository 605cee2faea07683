import { createConnection, type Socket } from "node:net";
import type { Hub } from "../src/index.js";
import { KEY_A } from "./helpers.js";

/**
 * An SSE reader that connects and then reads nothing, like a client on a stalled network.
 * HTTP/1.0, so the body arrives unchunked and `resume()` can parse what did arrive.
 */
export async function pausedSse(
  hub: Hub,
  path: string,
  headers: Record<string, string> = {},
): Promise<{
  socket: Socket;
  /** Start reading: `read()` parses the whole frames so far, `closed` settles when the hub hangs up. */
  resume(): { read(): { ids: number[]; readyAfter: number | undefined }; closed: Promise<void> };
}> {
  const socket = createConnection({ host: "127.0.0.1", port: hub.httpPort });
  socket.on("error", () => {});
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  socket.pause();
  const lines = Object.entries({ authorization: `Bearer ${KEY_A}`, ...headers })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("");
  socket.write(`GET ${path} HTTP/1.0\r\nhost: 127.0.0.1\r\n${lines}\r\n`);
  return {
    socket,
    resume() {
      let raw = "";
      socket.setEncoding("utf8");
      socket.on("data", (chunk: string) => {
        raw += chunk;
      });
      socket.resume();
      const closed = new Promise<void>((resolve) => {
        if (socket.destroyed) resolve();
        else socket.once("close", () => resolve());
      });
      return { read: () => parseFrames(raw), closed };
    },
  };
}

function parseFrames(raw: string): { ids: number[]; readyAfter: number | undefined } {
  const body = raw.slice(raw.indexOf("\r\n\r\n") + 4);
  const blocks = body.split("\n\n");
  blocks.pop(); // the last block is incomplete (or empty)
  const ids: number[] = [];
  let readyAfter: number | undefined;
  for (const block of blocks) {
    const id = /^id: (\d+)$/m.exec(block)?.[1];
    if (id === undefined) continue;
    if (/^event: chorus\.ready$/m.test(block)) readyAfter = Number(id);
    else ids.push(Number(id));
  }
  return { ids, readyAfter };
}

/** One sample of a metric from /metrics (summing every series that matches the labels). */
export async function metric(hub: Hub, name: string, labels: Record<string, string> = {}) {
  const text = await (await fetch(`${hub.url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).some(([k, v]) => !line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

/** Poll until `check` holds (no fixed sleeps in assertions). */
export async function eventually(check: () => Promise<boolean> | boolean, ms = 20_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}
