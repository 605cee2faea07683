import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type RequestListener } from "node:http";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  Chorus,
  type ChorusEvent,
  type ChorusOptions,
  type Intent,
  type Logger,
} from "@chorus/core";
import { createHub, type Hub, type HubOptions } from "@chorus/hub";
import {
  type AgentErrorContext,
  type RunAgentOptions,
  type RunningAgent,
  runAgent,
} from "../src/index.js";

export const ORG = "acme";
export const KEY = "key_acme_0123456789";

/** The real hub, in process, on a random port. */
export function startHub(options: HubOptions = {}): Promise<Hub> {
  return createHub({
    port: 0,
    mqttPort: 0,
    db: ":memory:",
    logger: false,
    apiKeys: `${ORG}:${KEY}`,
    ...options,
  });
}

const clients = new Set<Chorus>();
const runners = new Set<RunningAgent>();
const dirs = new Set<string>();

/** A strict client (errors are errors) with test-friendly timings; closed by {@link cleanUp}. */
export function client(hub: Hub | string, options: ChorusOptions = {}): Chorus {
  const chorus = new Chorus({
    url: typeof hub === "string" ? hub : hub.url,
    apiKey: KEY,
    failOpen: false,
    logger: false,
    drainOnExit: false,
    flushIntervalMs: 10,
    retryBaseDelayMs: 20,
    retryMaxDelayMs: 200,
    circuitCooldownMs: 100,
    circuitMaxCooldownMs: 400,
    timeoutMs: 2000,
    ...options,
  });
  clients.add(chorus);
  return chorus;
}

/** `runAgent` with a silent logger and errors collected; stopped by {@link cleanUp}. */
export async function start(
  target: object,
  options: RunAgentOptions,
): Promise<RunningAgent & { errors: { error: unknown; context: AgentErrorContext }[] }> {
  const errors: { error: unknown; context: AgentErrorContext }[] = [];
  const running = await runAgent(target, {
    logger: false,
    onError: (error, context) => errors.push({ error, context }),
    ...options,
  });
  runners.add(running);
  return Object.assign(running, { errors });
}

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "chorus-agents-"));
  dirs.add(dir);
  return dir;
}

export async function cleanUp(): Promise<void> {
  await Promise.all([...runners].map((r) => r.stop()));
  runners.clear();
  await Promise.all([...clients].map((c) => c.close(200)));
  clients.clear();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what = "condition",
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A promise with its resolve function, for handlers that wait on the test. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Create an intent assigned to `agents`. */
export async function createIntent(
  chorus: Chorus,
  agents: string[],
  state: Record<string, unknown> = {},
): Promise<Intent> {
  const intent = await chorus.intents.create({ title: "test intent", assignees: agents, state });
  if (!intent) throw new Error("intent not created");
  return intent;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** Retry a write through the outage: the hub refuses connections while it is down. */
export async function persist(
  write: () => Promise<unknown>,
  failures: { count: number },
): Promise<void> {
  for (;;) {
    try {
      await write();
      return;
    } catch {
      failures.count++;
      await sleep(20);
    }
  }
}

/** Every `intent.state_changed` event in an intent's log, in order, page after page. */
export async function stateChangedEvents(chorus: Chorus, intentId: string): Promise<ChorusEvent[]> {
  const events: ChorusEvent[] = [];
  let after: number | undefined;
  for (;;) {
    const page = await chorus.strict.intents.events(intentId, {
      type: "intent.state_changed",
      limit: 1000,
      ...(after === undefined ? {} : { after }),
    });
    events.push(...page.data);
    if (page.next === undefined) return events;
    after = page.next;
  }
}

/** A hand-written server on a loopback port (a hub look-alike); `close()` drops its connections. */
export async function listen(
  handler: RequestListener,
): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer(handler);
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
