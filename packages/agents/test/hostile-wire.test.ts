import type { Intent, Logger } from "@chorus/core";
import { afterEach, describe, expect, it } from "vitest";
import { defineAgent, type IntentState } from "../src/index.js";
import { cleanUp, client, listen, start, waitFor } from "./helpers.js";

/**
 * The runner against a server that sends, on its agent stream and in its intent logs, what a
 * real hub never would: versions out of order, repeated or going backwards after a reconnect,
 * events of intents the agent does not hold, events with missing or wrong-typed fields. The
 * runner must never hand a handler a wrong old/new state, never call one twice for a version,
 * never stall its resume point, and must say what it dropped.
 */

const AGENT = "guard";
const EPOCH = "hostile-epoch";

interface Fake {
  url: string;
  close(): Promise<void>;
}

/** An event as sent: any field may be of the wrong type. */
type Frame = Record<string, unknown>;

/**
 * A hub look-alike: `log` is both what its intent-log reads answer and what its agent stream
 * sends, split over connections at the seqs in `cuts` (the stream ends there; the next
 * connection resumes from `Last-Event-ID`).
 */
async function fakeHub(log: Frame[], cuts: number[] = []): Promise<Fake> {
  return listen((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const stream = url.pathname.match(/^\/v1\/agents\/[^/]+\/stream$/);
    if (stream) {
      const after = Number(req.headers["last-event-id"] ?? url.searchParams.get("after") ?? 0);
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(`id: ${after}\nevent: chorus.ready\ndata: ${JSON.stringify({ epoch: EPOCH })}\n\n`);
      const cut = cuts.find((c) => c > after);
      for (const frame of log) {
        const seq = Number(frame.seq);
        if (seq <= after) continue;
        res.write(`id: ${seq}\nevent: ${frame.type}\ndata: ${JSON.stringify(frame)}\n\n`);
        if (cut !== undefined && seq >= cut) {
          res.end();
          return;
        }
      }
      return;
    }
    const events = url.pathname.match(/^\/v1\/intents\/([^/]+)\/events$/);
    if (events) {
      const after = Number(url.searchParams.get("after") ?? 0);
      const data = log.filter((f) => f.intentId === events[1] && Number(f.seq) > after);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ data, epoch: EPOCH }));
      return;
    }
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { code: "not_found", message: "no such thing here" } }));
  });
}

let seq = 0;
function frame(intentId: string, type: string, payload: Record<string, unknown>): Frame {
  seq++;
  return {
    id: `ev_${seq}`,
    seq,
    channel: `intent:${intentId}`,
    env: "default",
    type,
    intentId,
    payload,
    metadata: {},
    occurredAt: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(),
    receivedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(),
  };
}

function created(id: string, assignees: string[], state: IntentState): Frame {
  const intent: Intent = {
    id,
    title: id,
    status: "active",
    assignees,
    state,
    version: 1,
    createdAt: "2026-01-01T00:00:00.000Z",
    updatedAt: "2026-01-01T00:00:00.000Z",
  } as Intent;
  return frame(id, "intent.created", { intent });
}

function changed(id: string, version: unknown, state: unknown, changedKeys = ["n"]): Frame {
  return frame(id, "intent.state_changed", { version, state, changedKeys });
}

interface Call {
  intentId: string;
  seq: number | undefined;
  version: unknown;
  old: unknown;
  new: unknown;
}

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const note = (message: string, fields?: unknown) =>
    warnings.push(`${message} ${JSON.stringify(fields ?? {})}`);
  return { debug() {}, info() {}, warn: note, error: note, warnings };
}

/** `warnIntervalMs: 0` logs every warning (the tests read each drop); the default rate-limits them. */
async function runGuard(fake: Fake, warnIntervalMs = 0) {
  const calls: Call[] = [];
  const statuses: { intentId: string; to: unknown }[] = [];
  const logger = recordingLogger();
  const guard = defineAgent({
    id: AGENT,
    handlers: {
      onStateChange: (intent, oldState, newState, ctx) => {
        calls.push({
          intentId: intent.id,
          seq: ctx.event?.seq,
          version: intent.version,
          old: oldState.n,
          new: newState.n,
        });
      },
      onStatus: {
        status: ["active", "blocked", "completed", "cancelled", "draft"],
        handler: (intent, change) => {
          statuses.push({ intentId: intent.id, to: change.to });
        },
      },
    },
  });
  const chorus = client(fake.url, { retryBaseDelayMs: 5, retryMaxDelayMs: 20, warnIntervalMs });
  const running = await start(guard, { chorus, after: 0, epoch: EPOCH, logger });
  return { calls, statuses, logger, running };
}

describe("an agent stream that breaks the version order", () => {
  let fake: Fake | undefined;
  afterEach(async () => {
    await cleanUp();
    await fake?.close();
    fake = undefined;
    seq = 0;
  });

  it("hands each version once, never backwards, across a reconnect that goes back in versions", async () => {
    const log = [
      created("in_a", [AGENT], { n: 0 }),
      changed("in_a", 2, { n: 1 }),
      changed("in_a", 4, { n: 3 }), // version 4 before 3
      changed("in_a", 3, { n: 2 }), // the late 3: older than what was handled
      changed("in_a", 4, { n: 3 }), // version 4 again
      // the stream is cut here; the next connection starts with a version from the past
      changed("in_a", 2, { n: 1 }),
      changed("in_a", 5, { n: 4 }),
    ];
    fake = await fakeHub(log, [5]);
    const { calls, logger, running } = await runGuard(fake);
    await waitFor(() => running.lastSeq === log.length, "every event to be retired");
    expect(calls.map((c) => [c.seq, c.version, c.old, c.new])).toEqual([
      [2, 2, 0, 1],
      [3, 4, 1, 3], // the true state before it (read from the log): 1
      [7, 5, 3, 4],
    ]);
    // What was dropped is said, with its seq.
    const stale = logger.warnings.filter((w) => w.includes("not newer"));
    expect(stale.map((w) => JSON.parse(w.slice(w.indexOf("{"))).seq)).toEqual([4, 5, 6]);
    expect(running.errors).toEqual([]);
  });

  it("drops events with missing or wrong-typed fields, says so, and keeps handling the intent", async () => {
    const log = [
      created("in_b", [AGENT], { n: 0 }),
      changed("in_b", "2", { n: 1 }), // version as a string
      changed("in_b", 3, null), // no state
      changed("in_b", undefined, { n: 9 }), // no version
      frame("in_b", "intent.status_changed", { from: "active", to: "exploded", version: 4 }),
      changed("in_b", 5, { n: 5 }),
      frame("in_b", "intent.status_changed", { from: "active", to: "blocked", version: 6 }),
      changed("in_b", 7, { n: 7 }),
      { ...changed("in_b", 8, { n: 8 }), intentId: 42 }, // intent id of the wrong type
      changed("in_b", 9, { n: 9 }),
    ];
    fake = await fakeHub(log);
    const { calls, statuses, logger, running } = await runGuard(fake);
    await waitFor(() => running.lastSeq === log.length, "every event to be retired");
    // The first sound change after the dropped ones: the old state is the last sound one (0),
    // never a state the runner could not read.
    expect(calls.map((c) => [c.seq, c.version, c.old, c.new])).toEqual([
      [6, 5, 0, 5],
      [8, 7, 5, 7],
      [10, 9, 7, 9],
    ]);
    expect(statuses).toEqual([{ intentId: "in_b", to: "blocked" }]);
    const dropped = logger.warnings.filter((w) => w.includes("malformed"));
    expect(dropped.map((w) => JSON.parse(w.slice(w.indexOf("{"))).seq)).toEqual([2, 3, 4, 5, 9]);
    // Each names what was wrong.
    expect(dropped.map((w) => JSON.parse(w.slice(w.indexOf("{"))).reason)).toEqual([
      expect.stringContaining("version"),
      expect.stringContaining("state"),
      expect.stringContaining("version"),
      expect.stringContaining("status"),
      "intentId is not a string",
    ]);
    expect(running.errors).toEqual([]);
  });

  it("warns about a flood of malformed events once per warnIntervalMs, not once per event", async () => {
    const log = [
      created("in_f", [AGENT], { n: 0 }),
      ...Array.from({ length: 50 }, () => changed("in_f", "2", { n: 1 })), // version as a string
      changed("in_f", 2, { n: 2 }),
    ];
    fake = await fakeHub(log);
    const { calls, logger, running } = await runGuard(fake, 60_000);
    await waitFor(() => running.lastSeq === log.length, "every event to be retired");
    expect(calls.map((c) => [c.seq, c.new])).toEqual([[52, 2]]);
    const dropped = logger.warnings.filter((w) => w.includes("malformed"));
    expect(dropped.map((w) => JSON.parse(w.slice(w.indexOf("{"))).seq)).toEqual([2]);
  });

  it("ignores events of an intent the agent does not hold", async () => {
    const log = [
      created("in_other", ["someone-else"], { n: 0 }),
      changed("in_other", 2, { n: 1 }),
      created("in_c", [AGENT], { n: 0 }),
      changed("in_c", 2, { n: 1 }),
      frame("in_ghost", "intent.state_changed", {
        version: 7,
        state: { n: 7 },
        changedKeys: ["n"],
      }),
      changed("in_c", 3, { n: 2 }),
    ];
    fake = await fakeHub(log);
    const { calls, running } = await runGuard(fake);
    await waitFor(() => running.lastSeq === log.length, "every event to be retired");
    expect(calls.map((c) => [c.intentId, c.old, c.new])).toEqual([
      ["in_c", 0, 1],
      ["in_c", 1, 2],
    ]);
    // The unknown intent's log cannot be read (404): reported once, nothing handled.
    expect(running.errors.map((e) => [e.context.phase, e.context.intentId])).toEqual([
      ["event", "in_ghost"],
    ]);
  });
});
