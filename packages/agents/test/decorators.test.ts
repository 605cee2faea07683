import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Intent } from "@chorus/core";
import { describe, expect, it } from "vitest";
import {
  agent,
  definitionOf,
  isAgentDefinition,
  onAssignment,
  onEvent,
  onStateChange,
  onStatus,
} from "../src/index.js";
import { describeCompiled } from "./fixtures/decorated-agent.js";

describe("standard decorators", () => {
  it("record handlers in declaration order, with their filters, bound to the instance", () => {
    @agent("researcher", { concurrency: 2, description: "finds things" })
    class Researcher {
      readonly seen: string[] = [];
      @onAssignment()
      start(intent: Intent) {
        this.seen.push(`start ${intent.id}`);
      }
      @onStateChange({ keys: ["question"] })
      research() {}
      @onStatus(["completed", "cancelled"])
      done() {}
      @onEvent("intent.comment")
      comment() {}
      notAHandler() {}
    }
    const instance = new Researcher();
    const definition = definitionOf(instance);
    expect(isAgentDefinition(definition)).toBe(true);
    expect(definition.id).toBe("researcher");
    expect(definition.options).toEqual({ concurrency: 2, description: "finds things" });
    expect(definition.handlers.map(({ handler: _, ...rest }) => rest)).toEqual([
      { kind: "assignment", name: "start" },
      { kind: "stateChange", name: "research", keys: ["question"] },
      { kind: "status", name: "done", statuses: ["completed", "cancelled"] },
      { kind: "event", name: "comment", types: ["intent.comment"] },
    ]);
    (definition.handlers[0]!.handler as (i: unknown) => void)({ id: "i1" });
    expect(instance.seen).toEqual(["start i1"]);
    // Each instance has its own bound handlers.
    const other = new Researcher();
    (definitionOf(other).handlers[0]!.handler as (i: unknown) => void)({ id: "i2" });
    expect(other.seen).toEqual(["start i2"]);
    expect(instance.seen).toEqual(["start i1"]);
  });

  it("keep several decorators on one method in written order; base class handlers first; private methods work; overrides run", () => {
    const calls: string[] = [];
    class Base {
      @onAssignment()
      inherited() {
        calls.push("base inherited");
      }
      @onEvent("intent.comment")
      overridden() {
        calls.push("base overridden");
      }
    }
    @agent("child")
    class Child extends Base {
      @onStatus("completed")
      @onEvent("intent.comment")
      @onStateChange()
      several() {
        calls.push("several");
      }
      override overridden() {
        calls.push("child overridden");
      }
      @onAssignment()
      // biome-ignore lint/correctness/noUnusedPrivateClassMembers: reached through the decorator
      #secret() {
        calls.push("secret");
      }
    }
    const definition = definitionOf(new Child());
    expect(definition.handlers.map((h) => `${h.kind}:${h.name}`)).toEqual([
      "assignment:inherited",
      "event:overridden",
      "status:several",
      "event:several",
      "stateChange:several",
      "assignment:#secret",
    ]);
    for (const spec of definition.handlers) (spec.handler as () => void)();
    expect(calls).toEqual([
      "base inherited",
      "child overridden",
      "several",
      "several",
      "several",
      "secret",
    ]);
  });

  it("refuse what cannot work, where it is written", () => {
    expect(() => agent("")).toThrow(/agent id/);
    expect(() => onStateChange({ keys: [] })).toThrow(/keys/);
    expect(() => onStatus("finished" as never)).toThrow(/onStatus/);
    expect(() => onEvent([])).toThrow(/onEvent/);
    expect(() => {
      // biome-ignore lint/complexity/noStaticOnlyClass: the static handler is the point
      class Static {
        @onAssignment()
        static handler() {}
      }
      return Static;
    }).toThrow(/static/);
    class Undecorated {
      @onAssignment()
      start() {}
    }
    expect(() => definitionOf(new Undecorated())).toThrow(/not an agent.*@agent/);
    expect(() => definitionOf({})).toThrow(/not an agent/);
  });

  it("need no experimentalDecorators (and the package does not enable it)", () => {
    const root = join(import.meta.dirname, "..");
    const own = JSON.parse(readFileSync(join(root, "tsconfig.json"), "utf8"));
    const base = JSON.parse(readFileSync(join(root, "..", "..", "tsconfig.base.json"), "utf8"));
    expect(own.compilerOptions?.experimentalDecorators).toBeUndefined();
    expect(base.compilerOptions?.experimentalDecorators).toBeUndefined();
  });

  it("work as compiled by TypeScript (this test run) — see decorator-compilers.test.ts for esbuild", () => {
    expect(describeCompiled()).toEqual({
      id: "compiled",
      handlers: ["assignment:first", "status:both", "event:both", "stateChange:#hidden"],
      calls: ["first:i1", "both", "both", "hidden:private"],
    });
  });
});
