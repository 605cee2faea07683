import type { ChorusEvent } from "@chorus/protocol";
import type { Client } from "aedes";
import { describe, expect, it } from "vitest";
import type { HubContext } from "../src/context.js";
import { Frame } from "../src/delivery/frame.js";
import { type AuthHooks, createAuthHooks } from "../src/mqtt/auth.js";
import { MqttSessions } from "../src/mqtt/sessions.js";

/*
 * authorizeForward is the last check before a packet reaches a subscriber: whatever a filter
 * matched, a client only ever gets its own org's packets. Stored events are checked by their
 * frame's org (no topic parsed per subscriber per event), anything else by its topic.
 */
/** A packet as aedes hands it to authorizeForward (its own copy, with broker fields). */
type Forwarded = Parameters<AuthHooks["authorizeForward"]>[1];

function storedEvent(seq: number): ChorusEvent {
  return {
    id: `e${seq}`,
    seq,
    channel: "ops",
    env: "production",
    type: "tool.start",
    payload: {},
    occurredAt: "2026-12-04T00:00:00.000Z",
    receivedAt: "2026-12-04T00:00:00.000Z",
  } as unknown as ChorusEvent;
}

function setup() {
  const sessions = new MqttSessions(() => {});
  const hooks = createAuthHooks(
    { metrics: {}, logger: {}, config: {} } as unknown as HubContext,
    sessions,
  );
  const client = (org: string) => {
    const c = { id: `c-${org}` } as Client;
    sessions.remember(c, { org, scopes: new Set(["subscribe"]) } as never);
    return c;
  };
  return { hooks, client };
}

function packetOf(frame: Frame): Forwarded {
  return {
    brokerId: "hub",
    brokerCounter: 1,
    cmd: "publish",
    topic: frame.topic,
    payload: frame.payload,
    qos: 0,
    retain: false,
    dup: false,
  };
}

describe("MQTT authorizeForward", () => {
  it("forwards a stored event to its own org only", () => {
    const { hooks, client } = setup();
    const packet = packetOf(new Frame("acme", storedEvent(1), 0));
    expect(hooks.authorizeForward(client("acme"), packet)).toBe(packet);
    expect(hooks.authorizeForward(client("globex"), packet)).toBeNull();
  });

  it("checks an org that needs topic encoding by its frame, exactly", () => {
    const { hooks, client } = setup();
    const packet = packetOf(new Frame("a/b+c", storedEvent(2), 0));
    expect(hooks.authorizeForward(client("a/b+c"), packet)).toBe(packet);
    expect(hooks.authorizeForward(client("a"), packet)).toBeNull();
  });

  it("reads the topic of a packet that is not a stored event's frame", () => {
    const { hooks, client } = setup();
    const own: Forwarded = {
      brokerId: "hub",
      brokerCounter: 2,
      cmd: "publish",
      topic: "chorus/acme/production/ops/_/tool.start/_",
      payload: Buffer.from("{}"),
      qos: 0,
      retain: false,
      dup: false,
    };
    expect(hooks.authorizeForward(client("acme"), own)).toBe(own);
    expect(hooks.authorizeForward(client("globex"), own)).toBeNull();
    // A frame's bytes copied into another buffer are not the frame: the topic decides.
    const copied = { ...packetOf(new Frame("acme", storedEvent(3), 0)) };
    copied.payload = Buffer.from(copied.payload as Buffer);
    copied.topic = "chorus/globex/production/ops/_/tool.start/_";
    expect(hooks.authorizeForward(client("acme"), copied)).toBeNull();
  });

  it("forwards nothing to a client without a principal", () => {
    const { hooks } = setup();
    const packet = packetOf(new Frame("acme", storedEvent(4), 0));
    expect(hooks.authorizeForward({ id: "anon" } as Client, packet)).toBeNull();
  });
});
