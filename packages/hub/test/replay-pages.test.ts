import { describe, expect, it } from "vitest";
import { type ReplayPage, ReplayPages } from "../src/delivery/replay-pages.js";

const page = (first: number, last: number, bytes = 1000): ReplayPage => ({
  bytes: Buffer.alloc(bytes, "x"),
  first,
  last,
  next: last,
});
const key = (after: number, filter: object = { channel: "a" }) =>
  ReplayPages.key("acme", filter, after, 4096);

describe("ReplayPages: history one reader read, for the readers replaying right behind it", () => {
  it("serves a page by everything that decides its content", () => {
    const pages = new ReplayPages(10_000);
    const p = page(1, 5);
    pages.add(key(0), p);
    expect(pages.get(key(0), 0)).toBe(p);
    expect(pages.get(key(1), 0)).toBeUndefined();
    expect(pages.get(key(0, { channel: "b" }), 0)).toBeUndefined();
    expect(pages.get(ReplayPages.key("globex", { channel: "a" }, 0, 4096), 0)).toBeUndefined();
    expect(pages.get(ReplayPages.key("acme", { channel: "a" }, 0, 8192), 0)).toBeUndefined();
  });

  it("forgets the oldest pages past its byte budget, counting their keys", () => {
    const pages = new ReplayPages(3_500);
    for (let i = 0; i < 4; i++) pages.add(key(i * 5), page(i * 5 + 1, i * 5 + 5));
    expect(pages.get(key(0), 0)).toBeUndefined();
    expect(pages.get(key(5), 0)).toBeDefined();
    expect(pages.get(key(15), 0)).toBeDefined();
    expect(pages.bytes).toBeLessThanOrEqual(3_500);
    // A page larger than the whole budget is not kept, and evicts nothing.
    pages.add(key(20), page(21, 25, 4_000));
    expect(pages.get(key(20), 0)).toBeUndefined();
    expect(pages.get(key(15), 0)).toBeDefined();
  });

  it("keeps pages in which nothing matched within the budget too", () => {
    const pages = new ReplayPages(2_000);
    for (let i = 0; i < 1_000; i++)
      pages.add(key(i * 100), { bytes: undefined, first: 0, last: i * 100, next: i * 100 + 100 });
    expect(pages.bytes).toBeLessThanOrEqual(2_000);
    expect(pages.get(key(99_900), 0)).toBeDefined();
    expect(pages.get(key(0), 0)).toBeUndefined();
  });

  it("does not serve a page whose first event retention has since deleted", () => {
    const pages = new ReplayPages(10_000);
    pages.add(key(0), page(3, 9));
    expect(pages.get(key(0), 3)).toBeDefined();
    expect(pages.get(key(0), 4)).toBeUndefined();
    expect(pages.bytes).toBe(0);
  });

  it("with no budget keeps nothing", () => {
    const pages = new ReplayPages(0);
    pages.add(key(0), page(1, 5));
    expect(pages.get(key(0), 0)).toBeUndefined();
  });
});
