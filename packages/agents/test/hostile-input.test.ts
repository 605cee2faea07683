import { type Chorus, PayloadTooLargeError, ValidationError } from "@chorus/core";
import type { Hub } from "@chorus/hub";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { defineAgent, patchIntent } from "../src/index.js";
import { cleanUp, client, createIntent, start, startHub, waitFor } from "./helpers.js";

/** A state object with an own `__proto__` key, as `JSON.parse` (or a user's parser) makes one. */
const protoPatch = () => JSON.parse('{"ok": 1, "__proto__": {"polluted": true}}');

function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: true };
  for (let i = 0; i < depth; i++) value = { d: value };
  return value;
}

describe("hostile input through the agent API", () => {
  let hub: Hub;
  let chorus: Chorus;
  beforeAll(async () => {
    hub = await startHub();
  });
  afterEach(cleanUp);
  afterAll(() => hub.close());

  it("refuses names that are not names, before anything starts", () => {
    for (const id of ["", "tab\there", "nul\u0000", "a".repeat(300), 5, null, undefined]) {
      expect(() => defineAgent({ id: id as string, handlers: {} })).toThrow(TypeError);
    }
    expect(() =>
      defineAgent({ id: "ok", handlers: { onStateChange: { keys: [], handler: () => {} } } }),
    ).toThrow(TypeError);
  });

  it("an agent whose id holds slashes, spaces, URL syntax and non-ASCII gets its intents", async () => {
    chorus = client(hub);
    const id = "team/α b?x=1#frag%20";
    const assigned: string[] = [];
    const odd = defineAgent({
      id,
      handlers: { onAssignment: (intent) => void assigned.push(intent.id) },
    });
    await start(odd, { chorus });
    const intent = await createIntent(chorus, [id]);
    await waitFor(() => assigned.length === 1, "the assignment");
    expect(assigned).toEqual([intent.id]);
  });

  // The hub refuses `__proto__` keys (merging one would swap an object's prototype), but a
  // client that copies the object first loses the key on the way: the write "succeeded" and the
  // key is silently gone. It must be a ValidationError instead, wherever the patch comes from.
  it("a patch with a __proto__ key is a ValidationError, not a silent drop", async () => {
    chorus = client(hub);
    const intent = await createIntent(chorus, [], { n: 0 });
    await expect(chorus.intents.patchState(intent.id, protoPatch())).rejects.toThrow(
      ValidationError,
    );
    await expect(chorus.intents.create({ title: "t", state: { a: protoPatch() } })).rejects.toThrow(
      ValidationError,
    );
    await expect(patchIntent(chorus, intent, protoPatch())).rejects.toThrow(ValidationError);
    // A patch of nothing but `__proto__`: merged locally it changes nothing, so only the
    // runner's own check stands between it and a silent "no change".
    await expect(
      patchIntent(chorus, intent, JSON.parse('{"__proto__": {"x": 1}}')),
    ).rejects.toThrow(ValidationError);
    await expect(patchIntent(chorus, intent, () => ({ n: 1, deep: protoPatch() }))).rejects.toThrow(
      /__proto__/,
    );
    expect((await chorus.intents.get(intent.id))?.version).toBe(1); // nothing was written
  });

  it("nesting is counted as the hub counts it: a payload inside the body starts one level down", async () => {
    chorus = client(hub);
    const intent = await createIntent(chorus, [], { n: 0 });
    // The body is level 1 and the payload level 2, so nested(126) (127 objects) reaches level
    // 128: the hub's limit, accepted. One more is refused by the client, before anything is sent.
    await chorus.intents.post(intent.id, { type: "intent.note", payload: nested(126) });
    await expect(
      chorus.intents.post(intent.id, { type: "intent.note", payload: nested(127) }),
    ).rejects.toThrow(/payload(\.d)+: nested deeper than 128/);
  });

  it("a handler returning a __proto__ key, a patch nested too deep or too large gets a clear error; the intent keeps being handled", async () => {
    chorus = client(hub);
    const seen: number[] = [];
    const returner = defineAgent({
      id: "returner",
      handlers: {
        onStateChange: {
          keys: ["n"],
          handler: (_intent, _old, state) => {
            const n = state.n as number;
            seen.push(n);
            if (n === 1) return protoPatch();
            if (n === 2) return nested(50_000);
            if (n === 3) return { big: "x".repeat(3 * 1024 * 1024) };
            return { handled: n };
          },
        },
      },
    });
    const running = await start(returner, { chorus });
    const intent = await createIntent(chorus, ["returner"], { n: 0 });
    for (let n = 1; n <= 4; n++) await chorus.intents.patchState(intent.id, { n });
    await waitFor(
      async () => (await chorus.intents.get(intent.id))?.state.handled === 4,
      "the sound patch after the bad ones",
    );
    expect(seen).toEqual([1, 2, 3, 4]);
    const errors = running.errors.map((e) => [e.context.phase, (e.error as Error).constructor]);
    expect(errors).toEqual([
      ["patch", ValidationError],
      ["patch", ValidationError],
      ["patch", PayloadTooLargeError],
    ]);
    expect(String((running.errors[0]?.error as Error | undefined)?.message)).toMatch(/__proto__/);
    expect(String((running.errors[1]?.error as Error | undefined)?.message)).toMatch(
      /nested deeper than 128/,
    );
  });
});
