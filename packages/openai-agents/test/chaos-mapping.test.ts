import type { Hub } from "@chorus/hub";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { instrument } from "../src/index.js";
import {
  cleanup,
  client,
  freshChannel,
  readEvents,
  runToSummary,
  startHub,
  track,
} from "./helpers.js";

// Our own mapping, forced to throw on every call: the bug we have not found yet.
vi.mock("../src/mapping.js", async (importOriginal) => {
  const original = await importOriginal<Record<string, unknown>>();
  return Object.fromEntries(
    Object.entries(original).map(([name, value]) => [
      name,
      typeof value === "function"
        ? () => {
            throw new Error(`mapping.${name} exploded`);
          }
        : value,
    ]),
  );
});

let hub: Hub;
beforeAll(async () => {
  hub = await startHub();
});
afterEach(cleanup);
afterAll(async () => {
  await hub.close();
});

describe.each([false, true])("internal mapping forced to throw (stream: %s)", (stream) => {
  it("leaves the run's result unchanged and reports every failure", async () => {
    const baseline = await runToSummary(stream);
    const channel = freshChannel();
    const chorus = client(hub.url, { channel });
    const reported: { message: string; operation: string }[] = [];
    const handle = track(
      instrument({
        chorus,
        exclusive: true,
        logger: false,
        onError: (error, context) =>
          reported.push({ message: (error as Error).message, operation: context.operation }),
      }),
    );
    expect(await runToSummary(stream, {}, (s) => handle.observe(s.runner))).toBe(baseline);
    const operations = new Set(reported.map((r) => r.operation));
    expect(operations).toContain("onSpanStart");
    expect(operations).toContain("onSpanEnd");
    expect(operations).toContain("hook.agent_tool_start");
    expect(reported.every((r) => r.message.startsWith("mapping."))).toBe(true);
    expect(await readEvents(chorus, channel)).toEqual([]);
  });
});
