import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import {
  createServer as createTcpServer,
  type Server as TcpServer,
  type Socket,
  connect,
} from "node:net";
import { createHub, type Hub, type HubOptions } from "@chorus/hub";
import { Chorus, type ChorusOptions, type ErrorContext, type Logger } from "../src/index.js";

export const ORG_A = "acme";
export const KEY_A = "key_acme_0123456789";
export const ORG_B = "globex";
export const KEY_B = "key_globex_0123456789";

/** The real hub, in process, on random ports, with two orgs. */
export function startHub(options: HubOptions = {}): Promise<Hub> {
  return createHub({
    port: 0,
    mqttPort: 0,
    db: ":memory:",
    logger: false,
    apiKeys: `${ORG_A}:${KEY_A},${ORG_B}:${KEY_B}`,
    ...options,
  });
}

/** A logger that remembers what it was told. */
export function recordingLogger(): Logger & {
  lines: { level: string; message: string; fields?: unknown }[];
} {
  const lines: { level: string; message: string; fields?: unknown }[] = [];
  const at = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    lines.push({ level, message, fields });
  };
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** Clients made in a test, closed after it. */
export const clients = new Set<Chorus>();

/** A client with test-friendly timings; closed by {@link closeAll}. */
export function client(
  options: ChorusOptions = {},
): Chorus & { errors: { error: unknown; context: ErrorContext }[] } {
  const errors: { error: unknown; context: ErrorContext }[] = [];
  const chorus = new Chorus({
    apiKey: KEY_A,
    logger: false,
    drainOnExit: false,
    flushIntervalMs: 10,
    retryBaseDelayMs: 20,
    retryMaxDelayMs: 200,
    circuitCooldownMs: 100,
    circuitMaxCooldownMs: 400,
    timeoutMs: 2000,
    onError: (error, context) => errors.push({ error, context }),
    ...options,
  }) as Chorus & { errors: typeof errors };
  chorus.errors = errors;
  clients.add(chorus);
  return chorus;
}

export async function closeAll(): Promise<void> {
  const all = [...clients];
  clients.clear();
  await Promise.all(all.map((c) => c.close(200)));
}

export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Every stored event of the org (all pages), through the hub's own HTTP API. */
export async function storedEvents(hub: Hub, query: Record<string, string> = {}, key = KEY_A) {
  const out: {
    id: string;
    seq: number;
    type: string;
    channel: string;
    payload: Record<string, unknown>;
  }[] = [];
  let after: number | undefined;
  for (;;) {
    const params = new URLSearchParams({
      ...query,
      limit: "1000",
      ...(after === undefined ? {} : { after: String(after) }),
    });
    const res = await fetch(`${hub.url}/v1/events?${params}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    const body = (await res.json()) as { data: typeof out; next?: number };
    out.push(...body.data);
    if (body.next === undefined) return out;
    after = body.next;
  }
}

/** A tiny HTTP server of our own that answers as a scripted (faulty) hub would. */
export interface FakeHub {
  url: string;
  requests: { method: string; path: string; body: string }[];
  close(): Promise<void>;
}

export async function fakeHub(
  handler: (req: IncomingMessage, res: ServerResponse, body: string, index: number) => void,
): Promise<FakeHub> {
  const requests: FakeHub["requests"] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", () => {
      requests.push({ method: req.method ?? "", path: req.url ?? "", body });
      handler(req, res, body, requests.length - 1);
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A TCP proxy in front of a hub that can cut every open connection (a forced disconnect). */
export interface Proxy {
  url: string;
  port: number;
  connections: number;
  cutAll(): void;
  close(): Promise<void>;
}

export async function tcpProxy(targetPort: number): Promise<Proxy> {
  const open = new Set<Socket>();
  let connections = 0;
  const server: TcpServer = createTcpServer((inbound) => {
    connections++;
    const outbound = connect(targetPort, "127.0.0.1");
    open.add(inbound);
    open.add(outbound);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
    const end = () => {
      inbound.destroy();
      outbound.destroy();
      open.delete(inbound);
      open.delete(outbound);
    };
    inbound.on("error", end);
    outbound.on("error", end);
    inbound.on("close", end);
    outbound.on("close", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get connections() {
      return connections;
    },
    cutAll() {
      for (const s of open) s.destroy();
      open.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on: bind, note the port, close. */
export async function refusedPort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
