import type { Hub } from "@chorus/hub";
import { withCustomSpan } from "@openai/agents";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { instrument } from "../src/index.js";
import {
  cleanup,
  client,
  freshChannel,
  ofType,
  readEvents,
  runToSummary,
  startHub,
  track,
  weatherScenario,
} from "./helpers.js";

/*
 * Whatever goes wrong on our side, the run's result is the one it would have had without Chorus,
 * and nothing rejects unhandled (the setup file fails the test on any unhandled rejection).
 */

let hub: Hub;
beforeAll(async () => {
  hub = await startHub();
});
afterEach(cleanup);
afterAll(async () => {
  await hub.close();
});

/** Something nasty for a serializer: a cycle, a throwing getter, a BigInt, a function. */
function hostile(): Record<string, unknown> {
  const value: Record<string, unknown> = { big: 10n ** 30n, fn() {}, nested: { deeper: {} } };
  value.self = value;
  Object.defineProperty(value, "trap", {
    enumerable: true,
    get: () => {
      throw new Error("getter trap");
    },
  });
  return value;
}

describe.each([false, true])("chaos (stream: %s)", (stream) => {
  it("hub down: the run is unchanged and events are dropped quietly", async () => {
    const baseline = await runToSummary(stream);
    const down = await startHub();
    const url = down.url;
    await down.close();
    const errors: unknown[] = [];
    const chorus = client(url, {
      channel: freshChannel(),
      maxRetries: 0,
      onError: (e) => errors.push(e),
    });
    expect(
      await runToSummary(stream, {}, (s) =>
        track(instrument({ chorus, exclusive: true, hooks: s.runner })),
      ),
    ).toBe(baseline);
    // Nothing on the run's path awaited the hub; the flush fails open.
    await expect(chorus.flush(300)).resolves.toBeTypeOf("boolean");
  });

  it("a client whose emit() throws: the run is unchanged, onError hears about it", async () => {
    const baseline = await runToSummary(stream);
    const chorus = client(hub.url, { channel: freshChannel() });
    chorus.emit = () => {
      throw new Error("emit exploded");
    };
    const reported: string[] = [];
    const handle = track(
      instrument({
        chorus,
        exclusive: true,
        logger: false,
        onError: (_e, ctx) => reported.push(ctx.operation),
      }),
    );
    expect(await runToSummary(stream, {}, (s) => handle.observe(s.runner))).toBe(baseline);
    expect(reported).toContain("onSpanStart");
    expect(reported).toContain("hook.agent_tool_start");
  });

  it("an onError and a logger that throw are swallowed too", async () => {
    const baseline = await runToSummary(stream);
    const chorus = client(hub.url, { channel: freshChannel() });
    chorus.emit = () => {
      throw new Error("emit exploded");
    };
    const throwing = () => {
      throw new Error("diagnostics exploded");
    };
    const handle = track(
      instrument({
        chorus,
        exclusive: true,
        onError: throwing,
        logger: { debug: throwing, info: throwing, warn: throwing, error: throwing },
      }),
    );
    expect(await runToSummary(stream, {}, (s) => handle.observe(s.runner))).toBe(baseline);
  });
});

describe("the threat", () => {
  it("why every hook is guarded: in this SDK a listener that throws rejects the run", async () => {
    const scenario = weatherScenario();
    scenario.runner.on("agent_tool_start", () => {
      throw new Error("listener exploded");
    });
    await expect(scenario.runner.run(scenario.triage, "Weather in Paris?")).rejects.toThrow(
      "listener exploded",
    );
  });
});

describe("hostile payloads", () => {
  it("a tool returning a cycle, a throwing getter and a BigInt: same result as without Chorus", async () => {
    const baseline = await runToSummary(false, { toolResult: hostile });
    expect(baseline).toContain("finalOutput");
    const channel = freshChannel();
    const chorus = client(hub.url, { channel });
    const handle = track(instrument({ chorus, exclusive: true, logger: false }));
    expect(
      await runToSummary(false, { toolResult: hostile }, (s) => handle.observe(s.runner)),
    ).toBe(baseline);
    const events = await readEvents(chorus, channel);
    expect(ofType(events, "tool.start")).toHaveLength(1);
    expect(ofType(events, "agent.end").length).toBeGreaterThan(0);
  });

  it("a custom span with hostile data becomes a readable custom event", async () => {
    const channel = freshChannel();
    const chorus = client(hub.url, { channel });
    track(instrument({ chorus, exclusive: true }));
    const scenario = weatherScenario({
      toolResult: (city) => city,
    });
    // The tool opens a custom span inside the run, the way user code would.
    const original = scenario.weather.tools[0] as unknown as {
      invoke: (...args: unknown[]) => Promise<unknown>;
    };
    const invoke = original.invoke.bind(original);
    original.invoke = (...args: unknown[]) =>
      withCustomSpan(async () => invoke(...args), { data: { name: "lookup", data: hostile() } });
    const result = await scenario.runner.run(scenario.triage, "Weather in Paris?");
    expect(result.finalOutput).toBe("It is sunny in Paris.");
    const events = await readEvents(chorus, channel);
    const custom = ofType(events, "custom")[0];
    expect(custom?.payload).toMatchObject({ kind: "custom", name: "lookup" });
    const data = custom?.payload.data as Record<string, unknown>;
    expect(data.self).toBe("[Circular]");
    expect(data.big).toBe((10n ** 30n).toString());
    expect(String(data.trap)).toContain("getter trap");
    // The custom span sits under the tool it ran in.
    expect(custom?.parentSpanId).toBe(ofType(events, "tool.start")[0]?.spanId);
  });
});
