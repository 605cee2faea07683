import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Hub } from "@chorus/hub";
import { afterEach, describe, expect, it } from "vitest";
import type { ChorusEvent, EventStream } from "../src/index.js";
import { client, closeAll, startHub, waitFor } from "./helpers.js";

const hubs: Hub[] = [];
afterEach(async () => {
  await closeAll();
  for (const hub of hubs.splice(0)) await hub.close().catch(() => {});
});

async function hubOn(port = 0): Promise<Hub> {
  const hub = await startHub({ port });
  hubs.push(hub);
  return hub;
}

/** `count` custom events on channel `epoch`, delivered. */
async function publish(hub: Hub, count: number, payload: Record<string, unknown>) {
  const publisher = client({ url: hub.url, channel: "epoch" });
  for (let i = 0; i < count; i++) publisher.emit({ type: "custom", payload: { ...payload, i } });
  await publisher.flush();
}

/** One iterator throughout: `break` in for-await would close the stream. */
function reader(stream: EventStream) {
  const iterator = stream[Symbol.asyncIterator]();
  return async (n: number) => {
    const out: ChorusEvent[] = [];
    while (out.length < n) {
      const next = await iterator.next();
      if (next.done) break;
      out.push(next.value);
    }
    return out;
  };
}

const seqAndHub = (events: ChorusEvent[]) =>
  events.map((e) => [e.seq, (e.payload as { hub: number }).hub]);

// An in-memory hub restarted on the same port is a new store: a new epoch, seqs from 1 again.
describe("a cursor kept across processes, with its store epoch", () => {
  it("restarts from the beginning on a hub with another store instead of skipping to it", async () => {
    const first = await hubOn();
    const port = first.httpPort;
    await publish(first, 5, { hub: 1 });
    // What a process stores: the cursor and the epoch of the page it read it from.
    const page = await client({ url: first.url }).events.list({ channel: "epoch" });
    const cursor = { after: page.next ?? page.data.at(-1)?.seq, epoch: page.epoch };
    expect(cursor.after).toBe(5);
    expect(cursor.epoch).toMatch(/^[0-9a-f]{32}$/);
    await first.close();

    const second = await hubOn(port);
    await publish(second, 8, { hub: 2 });
    // A later process resumes from the stored cursor: the new store's seqs 1..5 are not "seen".
    const stream = client({ url: second.url }).stream.channel("epoch", cursor);
    const events = await reader(stream)(8);
    expect(seqAndHub(events)).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((seq) => [seq, 2]));
    expect(stream.epoch).not.toBe(cursor.epoch);
    expect(stream.yieldedEpoch).toBe(stream.epoch);
  }, 30_000);

  it("resumes right after the cursor when the epoch is the hub's", async () => {
    const hub = await hubOn();
    await publish(hub, 4, { hub: 1 });
    const { epoch } = await client({ url: hub.url }).events.list({ channel: "epoch" });
    const stream = client({ url: hub.url }).stream.channel("epoch", { after: 2, epoch });
    expect(seqAndHub(await reader(stream)(2))).toEqual([
      [3, 1],
      [4, 1],
    ]);
    expect(stream.epoch).toBe(epoch);
  });

  it("events.list, the strict view and the intent log give the epoch the streams report", async () => {
    const hub = await hubOn();
    await publish(hub, 1, { hub: 1 });
    const chorus = client({ url: hub.url });
    const stream = chorus.stream.channel("epoch", { after: 0 });
    await reader(stream)(1);
    const page = await chorus.events.list({ channel: "epoch" });
    expect(page.epoch).toMatch(/^[0-9a-f]{32}$/);
    expect(page.epoch).toBe(stream.epoch);
    expect((await chorus.strict.events.list()).epoch).toBe(page.epoch);
    await chorus.intents.create({ id: "epoch-intent", title: "t" });
    expect((await chorus.intents.events("epoch-intent")).epoch).toBe(page.epoch);
  });

  it("refuses an epoch that is not a string", () => {
    const chorus = client({ url: "http://127.0.0.1:9" });
    expect(() => chorus.stream.channel("epoch", { after: 1, epoch: 7 as never })).toThrow(/epoch/);
  });

  it("hands out events buffered from the old store under its epoch, the new store's under the new one", async () => {
    const first = await hubOn();
    const port = first.httpPort;
    const stream = client({ url: first.url }).stream.channel("epoch", { after: 0 });
    const take = reader(stream);
    await publish(first, 4, { hub: 1 });
    expect(seqAndHub(await take(1))).toEqual([[1, 1]]);
    const oldEpoch = stream.yieldedEpoch;
    expect(oldEpoch).toMatch(/^[0-9a-f]{32}$/);
    // Seqs 2..4 are received and wait in the stream's buffer while the hub is replaced.
    await waitFor(() => stream.lastEventId === 4, 10_000, "the old store's events received");
    await first.close();
    const second = await hubOn(port);
    await publish(second, 2, { hub: 2 });
    await waitFor(() => stream.epoch !== oldEpoch, 20_000, "the new store's connection");
    await waitFor(() => stream.lastEventId === 2, 10_000, "the new store's events received");

    const seen: [number, number, string | undefined][] = [];
    for (let i = 0; i < 5; i++) {
      const [event] = (await take(1)) as [ChorusEvent];
      seen.push([event.seq, (event.payload as { hub: number }).hub, stream.yieldedEpoch]);
    }
    expect(seen).toEqual([
      [2, 1, oldEpoch],
      [3, 1, oldEpoch],
      [4, 1, oldEpoch],
      [1, 2, stream.epoch],
      [2, 2, stream.epoch],
    ]);
  }, 30_000);
});

// A SQLite file restored from a backup keeps its epoch but numbers its next events from the
// backup's newest seq: a reader's cursor from before the restore is ahead of the store.
describe("a store restored from a backup, behind the reader's cursor", () => {
  it("starts again from the store's beginning instead of skipping what it numbers up to the cursor", async () => {
    const dir = mkdtempSync(join(tmpdir(), "chorus-restore-"));
    try {
      const db = join(dir, "hub.db");
      const backup = join(dir, "backup.db");
      const before = await startHub({ db });
      const port = before.httpPort;
      await publish(before, 3, { hub: 1 });
      await before.close();
      copyFileSync(db, backup); // the backup: seqs 1..3

      const live = await startHub({ db, port });
      hubs.push(live);
      await publish(live, 5, { hub: 1 }); // seqs 4..8, lost with the restore
      const stream = client({ url: live.url }).stream.channel("epoch", { after: 0 });
      const take = reader(stream);
      expect((await take(8)).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      await live.close();
      hubs.pop();

      copyFileSync(backup, db);
      const restored = await startHub({ db, port });
      hubs.push(restored);
      await publish(restored, 2, { hub: 2 }); // numbered 4 and 5 again
      // The store starts the stream again from its beginning: what the backup held, then what
      // the restored store took since; nothing it numbers up to the old cursor is skipped.
      const resumed = await take(5);
      expect(seqAndHub(resumed)).toEqual([
        [1, 1],
        [2, 1],
        [3, 1],
        [4, 2],
        [5, 2],
      ]);
      expect(stream.lastEventId).toBe(5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
