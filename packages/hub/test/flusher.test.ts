import { describe, expect, it } from "vitest";
import { FLUSH_COST_WINDOW, FLUSH_REST_FACTOR, Flusher } from "../src/delivery/flusher.js";

/** A flusher on a clock the test moves: each outbox's write takes `cost` ms of it. */
function setup() {
  const clock = { now: 0 };
  const flusher = new Flusher(() => clock.now);
  /** One pass over `writes` connections whose writes each take `cost` ms; the rest it earned. */
  const pass = (writes: number, cost: number): number => {
    clock.now = Math.max(clock.now, flusher.restingUntil) + 1;
    for (let i = 0; i < writes; i++)
      flusher.mark({
        flush() {
          clock.now += cost;
        },
      });
    flusher.flush();
    return flusher.restingUntil - clock.now;
  };
  return { pass };
}

describe("the flusher's rest after a pass", () => {
  it("is four times what its writes cost: next to nothing for one watcher, tens of ms for a thousand", () => {
    const { pass } = setup();
    expect(pass(1, 0.02)).toBeCloseTo(0.02 * FLUSH_REST_FACTOR, 6);
    for (let i = 0; i < FLUSH_COST_WINDOW; i++) pass(1_000, 0.005);
    expect(pass(1_000, 0.005)).toBeCloseTo(1_000 * 0.005 * FLUSH_REST_FACTOR, 6);
  });

  it("is not stretched by one pass that something else interrupted", () => {
    const { pass } = setup();
    for (let i = 0; i < FLUSH_COST_WINDOW; i++) pass(1, 0.02);
    // A garbage collection or another process took 25 ms in the middle of one write: priced by
    // its own clock time, the pass would rest 100 ms and hold every event committed meanwhile.
    expect(pass(1, 25)).toBeCloseTo(0.02 * FLUSH_REST_FACTOR, 6);
    expect(pass(1, 0.02)).toBeCloseTo(0.02 * FLUSH_REST_FACTOR, 6);
  });

  it("follows writes that stay dearer", () => {
    const { pass } = setup();
    for (let i = 0; i < FLUSH_COST_WINDOW; i++) pass(10, 0.02);
    let rest = 0;
    for (let i = 0; i < FLUSH_COST_WINDOW; i++) rest = pass(10, 1);
    expect(rest).toBeCloseTo(10 * 1 * FLUSH_REST_FACTOR, 6);
  });
});
