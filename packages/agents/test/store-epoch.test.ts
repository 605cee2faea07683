import type { Intent } from "@chorus/core";
import type { Hub } from "@chorus/hub";
import { afterEach, describe, expect, it } from "vitest";
import { type AgentLifecycleEvents, agent, onAssignment } from "../src/index.js";
import { cleanUp, client, createIntent, start, startHub, waitFor } from "./helpers.js";

/** An agent that records the intents it is handed, by their `state.tag`. */
function tagger(id: string) {
  const tags: string[] = [];
  @agent(id)
  class Tagger {
    @onAssignment()
    take(intent: Intent) {
      tags.push(String(intent.state.tag));
    }
  }
  return { tags, target: new Tagger() };
}

/** Three intents for `agent` on `hub`: six log events (creation and assignment each). */
async function assignThree(hub: Hub, agentId: string, prefix: string): Promise<void> {
  const writer = client(hub);
  // An idempotent read first: a kept-alive socket to the previous hub on this port fails once,
  // and only idempotent calls are retried.
  await writer.events.list({ limit: 1 });
  for (let i = 0; i < 3; i++) await createIntent(writer, [agentId], { tag: `${prefix}${i}` });
}

// An in-memory hub restarted on the same port is another store: a new epoch, seqs from 1 again.
describe("runner and the hub store's epoch", () => {
  let hub: Hub | undefined;
  afterEach(async () => {
    await cleanUp();
    await hub?.close().catch(() => {});
    hub = undefined;
  });

  it("a runner resumed with lastSeq and epoch handles a new store's events from its start", async () => {
    hub = await startHub();
    const port = hub.httpPort;
    const first = tagger("resumer");
    const running = await start(first.target, { chorus: client(hub) });
    await assignThree(hub, "resumer", "old");
    await waitFor(() => first.tags.length === 3 && running.lastSeq === 6, "the old store handled");
    const stopped: AgentLifecycleEvents["stopped"][] = [];
    running.on("stopped", (e) => stopped.push(e));
    await running.stop();
    // What a process stores to resume later.
    const saved = { after: running.lastSeq, epoch: running.epoch };
    expect(saved.epoch).toMatch(/^[0-9a-f]{32}$/);
    expect(stopped).toEqual([{ agent: "resumer", lastSeq: 6, epoch: saved.epoch }]);
    await hub.close();

    hub = await startHub({ port });
    await assignThree(hub, "resumer", "new"); // seqs 1..6 again, all at or below `after`
    const second = tagger("resumer");
    const resumed = await start(second.target, { chorus: client(hub), ...saved });
    await waitFor(() => second.tags.length === 3, "the new store's assignments");
    expect(second.tags).toEqual(["new0", "new1", "new2"]);
    await waitFor(() => resumed.lastSeq === 6, "the new store's events handled");
    expect(resumed.epoch).not.toBe(saved.epoch);
    expect(resumed.errors).toEqual([]);
  }, 60_000);

  it("a running agent follows an in-memory hub restart: the new store's events are not taken as seen", async () => {
    hub = await startHub();
    const port = hub.httpPort;
    const { tags, target } = tagger("follower");
    const reconnected: AgentLifecycleEvents["reconnected"][] = [];
    const running = await start(target, {
      chorus: client(hub),
      on: { reconnected: (e) => reconnected.push(e) },
    });
    await assignThree(hub, "follower", "old");
    await waitFor(() => tags.length === 3 && running.lastSeq === 6, "the old store handled");
    const oldEpoch = running.epoch;
    await hub.close();

    hub = await startHub({ port });
    await waitFor(() => reconnected.length >= 1, "the runner's stream to come back");
    await assignThree(hub, "follower", "new");
    await waitFor(() => tags.length === 6, "the new store's assignments");
    expect(tags).toEqual(["old0", "old1", "old2", "new0", "new1", "new2"]);
    await waitFor(() => running.epoch !== oldEpoch && running.lastSeq === 6, "the new mark");
    expect(running.errors).toEqual([]);
  }, 60_000);
});
