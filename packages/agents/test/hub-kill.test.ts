import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Chorus, Intent } from "@chorus/core";
import { afterEach, describe, expect, it } from "vitest";
import { type AgentLifecycleEvents, defineAgent, type IntentState } from "../src/index.js";
import {
  cleanUp,
  client,
  persist,
  createIntent,
  deferred,
  KEY,
  ORG,
  sleep,
  start,
  stateChangedEvents,
  tempDir,
  waitFor,
} from "./helpers.js";

const hubDist = fileURLToPath(new URL("../../hub/dist/index.js", import.meta.url));

interface HubProcess {
  url: string;
  /** SIGKILL: no shutdown path runs. Resolves once the process is gone. */
  kill(): Promise<void>;
}

/** A real hub in its own process on `db` (and `port`, 0 for any), so it can be killed as a crash would. */
async function hubProcess(db: string, port: number): Promise<HubProcess> {
  const config = { port, mqttPort: false, db, logger: false, apiKeys: `${ORG}:${KEY}` };
  const script = `
    const { createHub } = await import(${JSON.stringify(hubDist)});
    const hub = await createHub(${JSON.stringify(config)});
    process.stdout.write(JSON.stringify({ url: hub.url }) + "\\n");
  `;
  const child: ChildProcess = spawn(process.execPath, ["--input-type=module", "-e", script], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk) => {
    stderr += String(chunk);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (chunk) => {
      out += String(chunk);
      if (out.includes("\n"))
        resolve((JSON.parse(out.split("\n")[0] as string) as { url: string }).url);
    });
    child.once("exit", (code) => reject(new Error(`hub process exited (${code}): ${stderr}`)));
  });
  running.add(child);
  return {
    url,
    async kill() {
      child.kill("SIGKILL");
      await exited;
      running.delete(child);
    },
  };
}
const running = new Set<ChildProcess>();

interface Change {
  intentId: string;
  seq: number;
  old: unknown;
  new: unknown;
}

/** Ground truth: every logged change of `n` (and who wrote each `ack_<n>` key, by count). */
async function logged(chorus: Chorus, ids: string[]) {
  const changes: Change[] = [];
  const acks = new Map<string, number>();
  for (const id of ids) {
    let previous: unknown = 0;
    for (const event of await stateChangedEvents(chorus, id)) {
      const { changedKeys, state } = event.payload as {
        changedKeys: string[];
        state: IntentState;
      };
      if (changedKeys.includes("n") && state.n !== previous)
        changes.push({ intentId: id, seq: event.seq, old: previous, new: state.n });
      previous = state.n;
      for (const key of changedKeys.filter((k) => k.startsWith("ack_")))
        acks.set(`${id}/${key}`, (acks.get(`${id}/${key}`) ?? 0) + 1);
    }
  }
  return { changes, acks };
}

describe("hub killed (SIGKILL) and restarted on its data while handlers run and changes keep coming", () => {
  afterEach(async () => {
    await cleanUp();
    for (const child of running) child.kill("SIGKILL");
    running.clear();
  });

  it("no handler call missed or repeated, the write that raced the kill lands once, stop() works", async () => {
    const db = join(tempDir(), "hub.db");
    let hub = await hubProcess(db, 0);
    const port = Number(new URL(hub.url).port);
    const writer = client(hub.url);
    const chorus = client(hub.url);

    const calls: Change[] = [];
    const entered = deferred();
    const proceed = deferred();
    let racer: { intentId: string; n: number } | undefined;
    const acker = defineAgent({
      id: "acker",
      options: { concurrency: 2 },
      handlers: {
        onStateChange: {
          keys: ["n"],
          handler: async (intent, oldState, newState, ctx) => {
            calls.push({
              intentId: intent.id,
              seq: ctx.event?.seq ?? -1,
              old: oldState.n,
              new: newState.n,
            });
            const n = newState.n as number;
            if (racer === undefined && n >= 10) {
              // This handler's write is the one that races the kill.
              racer = { intentId: intent.id, n };
              entered.resolve();
              await proceed.promise;
            }
            return { [`ack_${n}`]: true }; // a plain patch, written with If-Match
          },
        },
      },
    });
    const reconnected: AgentLifecycleEvents["reconnected"][] = [];
    const agentRun = await start(acker, {
      chorus,
      on: { reconnected: (e) => reconnected.push(e) },
    });
    const intents: Intent[] = [
      await createIntent(writer, ["acker"], { n: 0 }),
      await createIntent(writer, ["acker"], { n: 0 }),
    ];

    // Distinct values per intent, so every write is a real change with its own ack key.
    let writing = true;
    let writes = 0;
    const failed = { count: 0 };
    const writer$ = (async () => {
      for (let i = 1; writing; i++) {
        const target = intents[i % 2] as Intent;
        await persist(() => writer.strict.intents.patchState(target.id, { n: i }), failed);
        writes++;
        await sleep(10);
      }
    })();

    await entered.promise;
    await hub.kill();
    proceed.resolve(); // the handler returns its patch while the hub is dead
    await sleep(1500); // longer than the client's own resends of one request
    hub = await hubProcess(db, port);
    await waitFor(() => reconnected.length >= 1, "the runner's stream to come back");
    const writesAtRestart = writes;
    await waitFor(() => writes >= writesAtRestart + 10, "changes after the restart");
    writing = false;
    await writer$;

    const { changes } = await logged(
      writer,
      intents.map((i) => i.id),
    );
    await waitFor(() => calls.length >= changes.length, `${changes.length} handler calls`);
    await agentRun.stop(); // with the hub back: resolves
    const { acks } = await logged(
      writer,
      intents.map((i) => i.id),
    );

    const bySeq = (a: Change, b: Change) => a.seq - b.seq;
    expect(failed.count).toBeGreaterThan(0); // changes kept coming through the outage
    expect([...calls].sort(bySeq)).toEqual([...changes].sort(bySeq)); // none missed, none repeated
    for (const intent of intents) {
      const seqs = calls.filter((c) => c.intentId === intent.id).map((c) => c.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    }
    // Every handled change's ack landed exactly once: the racing one included.
    const expectedAcks = changes.map((c) => `${c.intentId}/ack_${c.new}`).sort();
    expect([...acks.keys()].sort()).toEqual(expectedAcks);
    expect([...acks.values()].every((count) => count === 1)).toBe(true);
    expect(acks.get(`${racer?.intentId}/ack_${racer?.n}`)).toBe(1);
    expect(agentRun.errors).toEqual([]);
  }, 40_000);
});

describe("stop() while the hub is dead", () => {
  afterEach(async () => {
    await cleanUp();
    for (const child of running) child.kill("SIGKILL");
    running.clear();
  });

  it("resolves while a returned change waits for the hub, and reports that change as not written", async () => {
    const db = join(tempDir(), "hub.db");
    const hub = await hubProcess(db, 0);
    const chorus = client(hub.url);
    const entered = deferred();
    const proceed = deferred();
    const waiting = defineAgent({
      id: "waiting",
      handlers: {
        onAssignment: async () => {
          entered.resolve();
          await proceed.promise;
          return { done: true };
        },
      },
    });
    const warnings: string[] = [];
    const logger = {
      debug() {},
      info() {},
      error() {},
      warn: (message: string) => void warnings.push(message),
    };
    const agentRun = await start(waiting, { chorus, logger });
    await createIntent(chorus, ["waiting"]);
    await entered.promise;
    await hub.kill();
    proceed.resolve();
    await waitFor(
      () => warnings.some((w) => w.includes("while writing")),
      "the write to wait for the hub",
    );
    const outcome = await Promise.race([
      agentRun.stop().then(() => "stopped"),
      sleep(10_000).then(() => "hung"),
    ]);
    expect(outcome).toBe("stopped");
    expect(agentRun.errors.map((e) => e.context.phase)).toEqual(["patch"]);
  }, 30_000);
});
