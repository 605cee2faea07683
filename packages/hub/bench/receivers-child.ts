import { setPriority } from "node:os";
import { waitFor } from "./clock.js";
import { Child } from "./ipc.js";

export interface GroupStats {
  min: number;
  max: number;
  total: number;
  errors: number;
  doneAt: number | undefined;
  reconnects: number;
  latencies?: number[];
}

/** How long `settle` waits without a single new delivery before it gives up. */
const STALLED_MS = 5_000;

/** A receivers process (see receivers.ts) and the groups of connections it holds. */
export class Receivers {
  readonly #child = new Child("receivers.js");

  /**
   * `BENCH_RX_NICE=19` runs the receivers at a low CPU priority: on a small machine they then
   * use only what the hub and the publisher leave, as watchers on other machines would.
   */
  constructor() {
    const nice = process.env.BENCH_RX_NICE;
    if (nice) setPriority(this.#child.pid, Number(nice));
  }

  get pid(): number {
    return this.#child.pid;
  }

  /** `lastEventId` asks for a replay; `expect` sets the target before the first event arrives. */
  sse(
    group: string,
    o: {
      url: string;
      key: string;
      path: string;
      n: number;
      sample?: number;
      lastEventId?: string;
      expect?: number;
    },
  ) {
    return this.#child.request("sse", { group, ...o, url: `${o.url}${o.path}` });
  }

  mqtt(group: string, o: { url: string; key?: string; topic: string; n: number; sample?: number }) {
    return this.#child.request("mqtt", { group, ...o });
  }

  /** `n` raw TCP connections to `port` that count the bytes they get. */
  sink(group: string, o: { port: number; n: number }) {
    return this.#child.request("sink", { group, ...o });
  }

  stuck(group: string, o: { host: string; port: number; key: string; topic: string; n: number }) {
    return this.#child.request("stuck", { group, ...o });
  }

  /** `n` SSE readers that never read; reader `i` resumes after seq `i × spacing` (default 0). */
  pausedSse(
    group: string,
    o: { port: number; key: string; path: string; n: number; spacing?: number },
  ) {
    return this.#child.request("paused", { group, ...o });
  }

  expect(group: string, count: number) {
    return this.#child.request("expect", { group, count });
  }

  stats(group: string, latencies = false): Promise<GroupStats> {
    return this.#child.request("stats", { group, latencies });
  }

  reset(group: string) {
    return this.#child.request("reset", { group });
  }

  close(group: string) {
    return this.#child.request("close", { group });
  }

  /**
   * Wait until every connection of `group` has `count` events, at most `ms`, or until nothing
   * more has arrived for {@link STALLED_MS} (connections that were dropped and do not come back,
   * such as disconnected QoS 0 subscribers, never complete); the stats either way.
   */
  async settle(group: string, count: number, ms: number): Promise<GroupStats> {
    let total = -1;
    let movedAt = Date.now();
    await waitFor(async () => {
      const now = await this.stats(group);
      if (now.total !== total) {
        total = now.total;
        movedAt = Date.now();
      }
      return now.min >= count || Date.now() - movedAt > STALLED_MS;
    }, ms);
    return this.stats(group, true);
  }

  stop(): Promise<void> {
    return this.#child.stop();
  }
}
