import { connect, createServer, type Server, type Socket } from "node:net";
import type { Chorus, Intent } from "@chorus/core";
import type { Hub } from "@chorus/hub";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type AgentLifecycleEvents, defineAgent, type IntentState } from "../src/index.js";
import {
  cleanUp,
  client,
  createIntent,
  start,
  startHub,
  stateChangedEvents,
  waitFor,
} from "./helpers.js";

/**
 * A TCP proxy in front of a real hub that cuts the agent's stream in the middle of an SSE frame
 * (inside its `data:` line) each time `cut()` is armed: the hub never sees a clean close, the
 * client gets half a frame, as when a network path dies mid-burst.
 */
interface CuttingProxy {
  url: string;
  /** Cut the next stream chunk carrying a frame, mid-frame. Resolves once cut. */
  cut(): Promise<void>;
  cuts: number;
  close(): Promise<void>;
}

async function cuttingProxy(targetPort: number): Promise<CuttingProxy> {
  const open = new Set<Socket>();
  let armed: (() => void) | undefined;
  let cuts = 0;
  const server: Server = createServer((inbound) => {
    const outbound = connect(targetPort, "127.0.0.1");
    open.add(inbound);
    open.add(outbound);
    let isStream: boolean | undefined;
    const end = () => {
      inbound.destroy();
      outbound.destroy();
      open.delete(inbound);
      open.delete(outbound);
    };
    inbound.on("data", (chunk: Buffer) => {
      isStream ??= /^GET \/v1\/agents\/[^ ]+\/stream/.test(chunk.toString("latin1"));
      outbound.write(chunk);
    });
    outbound.on("data", (chunk: Buffer) => {
      const at = chunk.indexOf("\ndata: {");
      if (isStream && armed && at >= 0) {
        inbound.write(chunk.subarray(0, at + 12)); // half a frame
        cuts++;
        const done = armed;
        armed = undefined;
        end();
        done();
        return;
      }
      inbound.write(chunk);
    });
    inbound.on("error", end);
    outbound.on("error", end);
    inbound.on("close", end);
    outbound.on("close", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    cut: () =>
      new Promise<void>((resolve) => {
        armed = resolve;
      }),
    get cuts() {
      return cuts;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

interface Change {
  intentId: string;
  seq: number;
  version: number;
  old: unknown;
  new: unknown;
}

async function loggedChanges(chorus: Chorus, ids: string[]): Promise<Change[]> {
  const out: Change[] = [];
  for (const id of ids) {
    let previous: unknown = 0;
    for (const event of await stateChangedEvents(chorus, id)) {
      const { state, version } = event.payload as { state: IntentState; version: number };
      out.push({ intentId: id, seq: event.seq, version, old: previous, new: state.n });
      previous = state.n;
    }
  }
  return out;
}

describe("the agent stream cut mid-frame while a burst of changes is in flight", () => {
  let hub: Hub;
  let proxy: CuttingProxy;
  beforeAll(async () => {
    hub = await startHub();
    proxy = await cuttingProxy(Number(new URL(hub.url).port));
  });
  afterEach(cleanUp);
  afterAll(async () => {
    await proxy.close();
    await hub.close();
  });

  it("every change is handled exactly once, in version order per intent, across the cuts", async () => {
    const writer = client(hub);
    const chorus = client(proxy.url, { retryBaseDelayMs: 5, retryMaxDelayMs: 50 });
    const calls: Change[] = [];
    const burst = defineAgent({
      id: "burst",
      options: { concurrency: 3 },
      handlers: {
        onStateChange: (intent, oldState, newState, ctx) => {
          calls.push({
            intentId: intent.id,
            seq: ctx.event?.seq ?? -1,
            version: intent.version,
            old: oldState.n,
            new: newState.n,
          });
        },
      },
    });
    const reconnected: AgentLifecycleEvents["reconnected"][] = [];
    const running = await start(burst, {
      chorus,
      on: { reconnected: (e) => reconnected.push(e) },
    });
    const intents: Intent[] = [];
    for (let i = 0; i < 5; i++) intents.push(await createIntent(writer, ["burst"], { n: 0 }));

    // Rounds of concurrent writes to every intent; the stream is cut mid-frame during three of them.
    const ROUNDS = 30;
    for (let round = 1; round <= ROUNDS; round++) {
      const cut = round % 8 === 0 ? proxy.cut() : undefined;
      await Promise.all(
        intents.map((intent) => writer.intents.patchState(intent.id, { n: round })),
      );
      await cut;
    }
    const expected = await loggedChanges(
      writer,
      intents.map((i) => i.id),
    );
    expect(expected).toHaveLength(ROUNDS * intents.length);
    await waitFor(() => calls.length >= expected.length, `${expected.length} handler calls`);
    await waitFor(() => running.lastSeq === Math.max(...expected.map((c) => c.seq)), "lastSeq");

    expect(proxy.cuts).toBe(3);
    // A cut can land in a reconnection's opening `chorus.ready`: that connection never counted
    // as open, so it has no `reconnected` of its own; the first cut always follows one.
    expect(reconnected.length).toBeGreaterThanOrEqual(1);
    const bySeq = (a: Change, b: Change) => a.seq - b.seq;
    expect([...calls].sort(bySeq)).toEqual([...expected].sort(bySeq));
    for (const intent of intents) {
      const versions = calls.filter((c) => c.intentId === intent.id).map((c) => c.version);
      expect(versions).toEqual(Array.from({ length: ROUNDS }, (_, i) => i + 2));
    }
    expect(running.errors).toEqual([]);
  });
});
