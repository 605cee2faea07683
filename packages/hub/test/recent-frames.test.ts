import type { ChorusEvent } from "@chorus/protocol";
import { describe, expect, it } from "vitest";
import { Frame } from "../src/delivery/frame.js";
import { RecentFrames } from "../src/delivery/recent-frames.js";

function frame(seq: number, channel = "a", size = 100): Frame {
  const event = {
    seq,
    id: `e${seq}`,
    org: "acme",
    channel,
    env: "default",
    type: "tick",
    payload: {},
    metadata: {},
    occurredAt: "2026-01-01T00:00:00.000Z",
    receivedAt: "2026-01-01T00:00:00.000Z",
  } as unknown as ChorusEvent;
  return new Frame("acme", event, size);
}

const all = () => true;
const seqs = (frames: Frame[]) => frames.map((f) => f.seq);

describe("RecentFrames: the newest delivered events, for readers resuming close behind", () => {
  it("serves a reader at or above its floor, and sends older ones to the store", () => {
    const recent = new RecentFrames(1_000, 10);
    recent.add([frame(11), frame(12), frame(14)]);
    expect(recent.after(9, all, 1e9)).toBeUndefined();
    const page = recent.after(10, all, 1e9);
    expect(page && seqs(page.frames)).toEqual([11, 12, 14]);
    expect(page?.done).toBe(true);
    expect(page?.through).toBe(14);
    expect(seqs(recent.after(12, all, 1e9)?.frames ?? [])).toEqual([14]);
  });

  it("forgets the oldest frames past its byte budget and raises its floor", () => {
    const recent = new RecentFrames(250, 0);
    recent.add([frame(1), frame(2), frame(3)]);
    expect(recent.bytes).toBe(200);
    expect(recent.after(0, all, 1e9)).toBeUndefined();
    expect(seqs(recent.after(1, all, 1e9)?.frames ?? [])).toEqual([2, 3]);
  });

  it("filters, pages by bytes, and reports how far it looked", () => {
    const recent = new RecentFrames(10_000, 0);
    recent.add([frame(1, "a"), frame(2, "b"), frame(3, "a"), frame(4, "b"), frame(5, "b")]);
    const wantA = (f: Frame) => f.event.channel === "a";
    const first = recent.after(0, wantA, 1);
    expect(first && seqs(first.frames)).toEqual([1]);
    expect(first?.done).toBe(false);
    const rest = recent.after(first?.through as number, wantA, 1e9);
    expect(rest && seqs(rest.frames)).toEqual([3]);
    expect(rest?.done).toBe(true);
    // Nothing more matched, yet the reader may move past everything looked at.
    expect(rest?.through).toBe(5);
  });

  it("with no budget is off: every reader goes to the store", () => {
    const recent = new RecentFrames(0, 0);
    recent.add([frame(1), frame(2)]);
    expect(recent.after(2, all, 1e9)).toBeUndefined();
    expect(recent.bytes).toBe(0);
  });
});
