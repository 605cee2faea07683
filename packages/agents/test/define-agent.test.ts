import type { Chorus, ChorusEvent, Intent } from "@chorus/core";
import type { Hub } from "@chorus/hub";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  agent,
  defineAgent,
  definitionOf,
  type HandlerContext,
  type IntentState,
  onAssignment,
  onEvent,
  onStateChange,
  onStatus,
  type StatusChange,
} from "../src/index.js";
import { cleanUp, client, createIntent, start, startHub, waitFor } from "./helpers.js";

/** The same agent written both ways; each records what it saw into `log`. */
function decorated(log: string[]) {
  @agent("twin", { concurrency: 3 })
  class Twin {
    @onAssignment()
    assigned(intent: Intent) {
      log.push(`assigned v${intent.version}`);
      return { stage: "started" };
    }
    @onStateChange({ keys: ["stage"] })
    stage(_i: Intent, oldState: IntentState, newState: IntentState) {
      log.push(`stage ${String(oldState.stage)}->${String(newState.stage)}`);
    }
    @onStateChange()
    any(_i: Intent, _o: IntentState, newState: IntentState) {
      log.push(`any ${JSON.stringify(newState)}`);
    }
    @onStatus("completed")
    done(intent: Intent, change: StatusChange) {
      log.push(`status ${change.from}->${change.to} v${intent.version}`);
    }
    @onEvent("intent.comment")
    async comment(intent: Intent, event: ChorusEvent, ctx: HandlerContext) {
      log.push(`comment ${String(event.payload.text)}`);
      await ctx.complete(intent, { state: { answer: 42 } });
    }
  }
  return new Twin();
}

function plain(log: string[]) {
  return defineAgent({
    id: "twin",
    options: { concurrency: 3 },
    handlers: {
      onAssignment: (intent) => {
        log.push(`assigned v${intent.version}`);
        return { stage: "started" };
      },
      onStateChange: [
        {
          keys: ["stage"],
          handler: (_i, oldState, newState) =>
            void log.push(`stage ${String(oldState.stage)}->${String(newState.stage)}`),
        },
        (_i, _o, newState) => void log.push(`any ${JSON.stringify(newState)}`),
      ],
      onStatus: {
        status: "completed",
        handler: (intent, change) =>
          void log.push(`status ${change.from}->${change.to} v${intent.version}`),
      },
      onEvent: {
        type: "intent.comment",
        handler: async (intent, event, ctx) => {
          log.push(`comment ${String(event.payload.text)}`);
          await ctx.complete(intent, { state: { answer: 42 } });
        },
      },
    },
  });
}

describe("defineAgent", () => {
  let hub: Hub;
  let chorus: Chorus;
  beforeAll(async () => {
    hub = await startHub();
  });
  afterEach(cleanUp);
  afterAll(() => hub.close());

  it("compiles to the same definition as the decorators", () => {
    const a = definitionOf(decorated([]));
    const b = plain([]);
    const shape = (d: typeof a) => ({
      id: d.id,
      options: d.options,
      handlers: d.handlers.map(({ handler: _, ...rest }) => rest),
    });
    expect(shape(b)).toEqual({
      ...shape(a),
      // Names come from the functions: method names for classes, the property for arrows.
      handlers: shape(a).handlers.map((h, i) => ({
        ...h,
        name: ["onAssignment", "onStateChange[0]", "onStateChange[1]", "onStatus", "onEvent"][i],
      })),
    });
  });

  it("runs the same way as the decorator form", async () => {
    const run = async (make: (log: string[]) => object) => {
      chorus = client(hub);
      const log: string[] = [];
      const running = await start(make(log), { chorus });
      const intent = await createIntent(chorus, ["twin"], { q: 1 });
      await waitFor(() => log.some((l) => l.startsWith("stage")), "the stage change");
      await chorus.intents.comment(intent.id, "finish");
      await waitFor(() => log.some((l) => l.startsWith("status")), "completion");
      await running.stop();
      expect(running.errors).toEqual([]);
      expect((await chorus.intents.get(intent.id))?.state).toEqual({
        q: 1,
        stage: "started",
        answer: 42,
      });
      // The runner's writes name the agent that made them.
      const writes = (await chorus.intents.events(intent.id)).data.filter((e) =>
        ["intent.state_changed", "intent.status_changed"].includes(e.type),
      );
      expect(writes.map((e) => [e.type, e.agent])).toEqual([
        ["intent.state_changed", "twin"],
        ["intent.state_changed", "twin"],
        ["intent.status_changed", "twin"],
      ]);
      return log;
    };
    const viaDecorators = await run(decorated);
    const viaDefine = await run(plain);
    expect(viaDefine).toEqual(viaDecorators);
    expect(viaDecorators).toEqual([
      "assigned v1",
      "stage undefined->started",
      'any {"q":1,"stage":"started"}',
      "comment finish",
      'any {"q":1,"stage":"started","answer":42}',
      "status active->completed v4",
    ]);
  });

  it("validates at definition time", () => {
    expect(() => defineAgent({ id: "", handlers: {} })).toThrow(/agent id/);
    expect(() =>
      defineAgent({
        id: "x",
        handlers: { onStatus: { status: "done" as never, handler: () => {} } },
      }),
    ).toThrow(/onStatus/);
    expect(() =>
      defineAgent({ id: "x", handlers: { onStateChange: { keys: [], handler: () => {} } } }),
    ).toThrow(/keys/);
    expect(() =>
      defineAgent({ id: "x", handlers: { onEvent: { type: "", handler: () => {} } } }),
    ).toThrow(/onEvent/);
    expect(() => defineAgent({ id: "x", handlers: { onAssignment: "nope" as never } })).toThrow(
      /function/,
    );
    expect(() => defineAgent({ id: "x", handlers: { onWhatever: () => {} } as never })).toThrow(
      /unknown handler kind/,
    );
  });
});
