import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Chorus } from "@chorus/core";
import type { Hub } from "@chorus/hub";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type AgentLifecycleEvents, defineAgent } from "../src/index.js";
import {
  cleanUp,
  client,
  createIntent,
  deferred,
  KEY,
  sleep,
  start,
  startHub,
  waitFor,
} from "./helpers.js";

/** Far beyond any `stop(timeoutMs)` below: reaching it means `stop()` hung. */
const HUNG_MS = 10_000;

async function stateWritesBy(chorus: Chorus, intentId: string, agent: string): Promise<number> {
  const page = await chorus.intents.events(intentId, { type: "intent.state_changed" });
  return page.data.filter((e) => e.agent === agent).length;
}

describe("handlers that hang, throw or misuse the context", () => {
  let hub: Hub;
  beforeAll(async () => {
    hub = await startHub();
  });
  afterEach(cleanUp);
  afterAll(() => hub.close());

  it("a handler that never settles holds up neither other intents nor stop(timeoutMs); its late result is not written", async () => {
    const chorus = client(hub);
    const hang = deferred();
    const hanging = deferred();
    const handled: number[] = [];
    const sleeper = defineAgent({
      id: "sleeper",
      handlers: {
        onStateChange: async (_intent, _old, state) => {
          if (state.hang) {
            hanging.resolve();
            await hang.promise; // ignores ctx.signal, as careless code does
            return { late: true };
          }
          handled.push(state.n as number);
          return undefined;
        },
      },
    });
    const running = await start(sleeper, { chorus, concurrency: 2 });
    const stopped: AgentLifecycleEvents["stopped"][] = [];
    running.on("stopped", (e) => stopped.push(e));
    const stuck = await createIntent(chorus, ["sleeper"]);
    const busy = await createIntent(chorus, ["sleeper"]);
    const hangEvent = await chorus.intents.patchState(stuck.id, { hang: true });
    await hanging.promise;
    // Other intents keep being handled while one handler hangs.
    for (let n = 1; n <= 5; n++) await chorus.intents.patchState(busy.id, { n });
    await waitFor(() => handled.length === 5, "the other intent's changes");
    expect(handled).toEqual([1, 2, 3, 4, 5]);

    const outcome = await Promise.race([
      running.stop(100).then(() => "stopped"),
      sleep(HUNG_MS).then(() => "hung"),
    ]);
    expect(outcome).toBe("stopped");
    expect(stopped).toHaveLength(1);
    const lastSeq = running.lastSeq as number;
    // The hung event is not counted as handled: a resumed runner handles it again.
    const hungSeq = (await chorus.intents.events(stuck.id, { type: "intent.state_changed" }))
      .data[0]?.seq as number;
    expect(hangEvent?.version).toBe(2);
    expect(lastSeq).toBeLessThan(hungSeq);
    expect(stopped[0]?.lastSeq).toBe(lastSeq);

    // The handler finishes after stop() gave up on it: what it returns is not written.
    hang.resolve();
    await sleep(300);
    expect(await stateWritesBy(chorus, stuck.id, "sleeper")).toBe(0);
    expect(running.lastSeq).toBe(lastSeq);
  });

  it("rejects a bad stop timeout before stopping anything", async () => {
    const chorus = client(hub);
    const seen: unknown[] = [];
    const timid = defineAgent({
      id: "timid",
      handlers: { onStateChange: (_intent, _old, state) => void seen.push(state.n) },
    });
    const running = await start(timid, { chorus });
    const stopped: AgentLifecycleEvents["stopped"][] = [];
    running.on("stopped", (e) => stopped.push(e));
    expect(() => running.stop(-1)).toThrow(TypeError);
    expect(() => running.stop(Number.NaN)).toThrow(TypeError);
    // Nothing was stopped: the runner still handles what comes.
    const intent = await createIntent(chorus, ["timid"]);
    await chorus.intents.patchState(intent.id, { n: 1 });
    await waitFor(() => seen.length === 1, "the change after the refused stop()");
    expect(seen).toEqual([1]);
    expect(stopped).toEqual([]);
    await running.stop(Number.POSITIVE_INFINITY);
    expect(stopped).toHaveLength(1);
  });

  it("sync throws, non-Error rejections and a double complete are reported, and the intent keeps being handled", async () => {
    const chorus = client(hub);
    const seen: number[] = [];
    const misfit = defineAgent({
      id: "misfit",
      handlers: {
        onStateChange: [
          // not async: throws synchronously
          (_intent, _old, state) => {
            if (state.n === 1) throw new Error("sync boom");
          },
          (_intent, _old, state) => (state.n === 2 ? Promise.reject(undefined) : Promise.resolve()),
          async (intent, _old, state, ctx) => {
            seen.push(state.n as number);
            if (state.n === 3) {
              await ctx.complete(intent, { state: { done: true } });
              await ctx.complete(intent, { state: { done: true } }); // already completed: fine
            }
          },
        ],
      },
    });
    const running = await start(misfit, { chorus });
    const intent = await createIntent(chorus, ["misfit"]);
    for (let n = 1; n <= 3; n++) await chorus.intents.patchState(intent.id, { n });
    await waitFor(() => seen.length === 3, "every change to reach the last handler");
    await waitFor(
      async () => (await chorus.intents.get(intent.id))?.status === "completed",
      "the intent to be completed",
    );
    expect(seen).toEqual([1, 2, 3]);
    expect(running.errors.map((e) => [e.context.phase, (e.error as Error)?.message])).toEqual([
      ["handler", "sync boom"],
      ["handler", undefined],
    ]);
  });
});

describe("after stop() nothing of the runner keeps the process alive", () => {
  let hub: Hub;
  beforeAll(async () => {
    hub = await startHub();
  });
  afterAll(() => hub.close());

  it("exits with a handler still hanging, once stop(timeoutMs) and close() are done", async () => {
    const agents = fileURLToPath(new URL("../dist/index.js", import.meta.url));
    const core = fileURLToPath(new URL("../../core/dist/index.js", import.meta.url));
    const script = `
      import { Chorus } from ${JSON.stringify(core)};
      import { defineAgent, runAgent } from ${JSON.stringify(agents)};
      const chorus = new Chorus({ url: process.env.HUB, apiKey: ${JSON.stringify(KEY)}, logger: false });
      let entered;
      const inside = new Promise((resolve) => { entered = resolve; });
      const agent = defineAgent({
        id: "stuck",
        handlers: { onAssignment: () => { entered(); return new Promise(() => {}); } },
      });
      const running = await runAgent(agent, { chorus, logger: false });
      await chorus.intents.create({ title: "t", assignees: ["stuck"] });
      await inside;
      await running.stop(200);
      await chorus.close(500);
      process.stdout.write("stopped\\n");
    `;
    const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
        env: { ...process.env, HUB: hub.url },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      child.stdout.on("data", (chunk) => {
        out += String(chunk);
      });
      child.stderr.on("data", (chunk) => {
        out += String(chunk);
      });
      const watchdog = setTimeout(() => child.kill("SIGKILL"), HUNG_MS * 2);
      child.on("exit", (code) => {
        clearTimeout(watchdog);
        resolve({ code, out });
      });
    });
    expect(result).toEqual({ code: 0, out: "stopped\n" });
  }, 40_000);
});
