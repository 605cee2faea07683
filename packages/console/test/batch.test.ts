import type { ChorusEvent } from "@chorus/protocol";
import { afterEach, describe, expect, it, vi } from "vitest";
import { appendBounded, MAX_EVENTS } from "../web/lib/live.js";
import type { Session } from "../web/lib/session.js";
import { openLiveStream } from "../web/lib/stream.js";

const event = (seq: number) => ({ seq, type: "custom" }) as ChorusEvent;
const events = (from: number, n: number) => Array.from({ length: n }, (_, i) => event(from + i));

/** A channel's stream that delivers `total` events in bursts, as SSE messages arrive. */
function fakeSession(total: number): { session: Session; closed: () => boolean } {
  let closed = false;
  const stream = {
    onConnection() {},
    close() {
      closed = true;
    },
    async *[Symbol.asyncIterator]() {
      for (let seq = 1; seq <= total; seq++) {
        yield event(seq);
        if (seq % 10_000 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
      }
      while (!closed) await new Promise((resolve) => setTimeout(resolve, 10));
    },
  };
  const session = { chorus: { stream: { channel: () => stream } } } as unknown as Session;
  return { session, closed: () => closed };
}

describe("events that arrive while the tab is hidden", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("are merged however many there are: the newest MAX_EVENTS are kept, in order", () => {
    const shown = events(1, 10);
    expect(() => appendBounded(shown, events(11, 250_000), MAX_EVENTS)).not.toThrow();
    expect(shown).toHaveLength(MAX_EVENTS);
    expect(shown[0]?.seq).toBe(150_011);
    expect(shown.at(-1)?.seq).toBe(250_010);
    // At the bound, the cap applies once the batch is in: the oldest make room.
    appendBounded(shown, events(250_011, 3), MAX_EVENTS);
    expect(shown).toHaveLength(MAX_EVENTS);
    expect(shown.slice(-4).map((e) => e.seq)).toEqual([250_010, 250_011, 250_012, 250_013]);
    expect(shown[0]?.seq).toBe(150_014);
  });

  it("reach the page without an animation frame, the newest kept, none lost to the hand-over", async () => {
    // A hidden tab runs no animation frame callbacks at all.
    vi.stubGlobal("requestAnimationFrame", () => 1);
    vi.stubGlobal("cancelAnimationFrame", () => {});
    const { session, closed } = fakeSession(250_000);
    const shown: ChorusEvent[] = [];
    let largest = 0;
    const live = openLiveStream({
      session,
      channel: "c",
      after: 0,
      keep: MAX_EVENTS,
      onEvents(batch) {
        largest = Math.max(largest, batch.length);
        appendBounded(shown, batch, MAX_EVENTS);
      },
      onConnection() {},
      onEnd(error) {
        throw error;
      },
    });
    try {
      await vi.waitFor(() => expect(shown.at(-1)?.seq).toBe(250_000), { timeout: 30_000 });
      expect(shown).toHaveLength(MAX_EVENTS);
      expect(shown.every((e, i) => e.seq === 150_001 + i)).toBe(true);
      expect(largest).toBeLessThanOrEqual(MAX_EVENTS + MAX_EVENTS / 8);
    } finally {
      live.close();
    }
    expect(closed()).toBe(true);
  });
});
