import { describe, expect, it } from "vitest";
import { isoTime } from "../src/otel/time.js";

describe("isoTime (the mapping's occurredAt)", () => {
  it("writes exactly what Date#toISOString writes, across days, years and sign", () => {
    const times = [
      0,
      1,
      999.999,
      1_764_806_400_000, // a midnight
      1_764_806_399_999.5, // the millisecond before it
      1_764_851_234_567.891,
      1_764_851_234_567.891 + 86_400_000 * 3, // another day after a cached one
      951_782_400_000, // 2000-02-29
      -1,
      -0.5,
      -86_400_001,
      -62_198_755_200_000, // year 0000
      -62_198_755_200_001, // year -000001
      253_402_300_800_000, // year +010000
      8.64e15,
      -8.64e15,
    ];
    for (const t of times) expect([t, isoTime(t)]).toEqual([t, new Date(t).toISOString()]);
    for (let i = 0; i < 2000; i++) {
      const t = Math.round((Math.random() - 0.3) * 4e12 * 10) / 10;
      expect(isoTime(t)).toBe(new Date(t).toISOString());
    }
  });

  it("throws as toISOString does for times a Date cannot hold", () => {
    expect(() => isoTime(8.64e15 + 1)).toThrow(RangeError);
    expect(() => isoTime(Number.NaN)).toThrow(RangeError);
  });
});
