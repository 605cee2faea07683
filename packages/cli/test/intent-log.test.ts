import type { Chorus } from "@chorus/core";
import { describe, expect, it } from "vitest";
import { intentLog } from "../src/intent-log.js";

describe("intentLog", () => {
  it("stops with an error when the hub's cursor does not move, instead of printing the same page for ever", async () => {
    let calls = 0;
    const chorus = {
      intents: {
        events: async () => {
          if (++calls > 50) throw new Error("still paging after 50 pages");
          return { data: [{ seq: 7, type: "intent.comment" }], next: 7 };
        },
      },
    } as unknown as Chorus;
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const event of intentLog(chorus, "in_1")) seen.push(event.seq);
      })(),
    ).rejects.toThrow(/did not move past seq 7/);
    expect(seen).toEqual([7, 7]);
    expect(calls).toBe(2);
  });
});
