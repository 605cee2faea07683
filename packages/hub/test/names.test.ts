import { eventTopic, subscriptionFilter } from "@chorus/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Hub } from "../src/index.js";
import { api, KEY_A, ORG_A, startTestHub } from "./helpers.js";
import { collect, connectMqtt } from "./mqtt-helpers.js";
import { readSse } from "./sse-helpers.js";

/** Names frameworks hand us: an OpenAI agent `Support #2`, a LangGraph node `research/web`. */
const CHANNEL = "research/web";
const AGENT = "Support #2";
const APP = "Q&A + search 100%";

let hub: Hub;
beforeAll(async () => {
  hub = await startTestHub();
});
afterAll(async () => {
  await hub.close();
});

describe("names with / + # %", () => {
  it("are stored, listed, streamed and published on an encoded topic", async () => {
    const mqtt = await connectMqtt(hub.mqttUrl!, KEY_A);
    const inbox = collect(mqtt);
    await mqtt.subscribeAsync(subscriptionFilter(ORG_A, { channel: CHANNEL }));
    const sse = await readSse(hub, `/v1/channels/${encodeURIComponent(CHANNEL)}/stream`);
    await sse.until(() => sse.readyAfter !== undefined);

    const event = { channel: CHANNEL, agent: AGENT, app: APP, type: "agent.message" };
    const posted = await api(hub, "/v1/events", { body: event });
    expect(posted.status).toBe(202);

    const [msg] = await inbox.next();
    expect(msg!.topic).toBe(eventTopic(ORG_A, { ...event, env: "default" }));
    expect(msg!.topic.split("/")).toHaveLength(7);
    expect(msg!.body).toMatchObject(event);

    await sse.until(() => sse.frames.length === 1);
    expect(sse.frames[0]!.data).toMatchObject(event);
    await sse.close();

    const query = new URLSearchParams({ channel: CHANNEL, agent: AGENT, app: APP });
    const listed = await api(hub, `/v1/events?${query}`);
    expect(listed.body.data).toHaveLength(1);
    expect(listed.body.data[0]).toMatchObject(event);
    await mqtt.endAsync();
  });

  it("work as assignees and agent streams", async () => {
    const created = await api(hub, "/v1/intents", { body: { title: "t" } });
    const id = created.body.id as string;
    const sse = await readSse(hub, `/v1/agents/${encodeURIComponent(AGENT)}/stream`);
    await sse.until(() => sse.readyAfter !== undefined);
    const assigned = await api(hub, `/v1/intents/${id}/assignees/${encodeURIComponent(AGENT)}`, {
      method: "POST",
      headers: { "chorus-agent": CHANNEL },
    });
    expect(assigned.status).toBe(200);
    expect(assigned.body.assignees).toEqual([AGENT]);
    await sse.until(() => sse.frames.some((f) => f.event === "intent.assigned"));
    const frame = sse.frames.find((f) => f.event === "intent.assigned")!;
    expect(frame.data).toMatchObject({ agent: CHANNEL, payload: { agent: AGENT } });
    await sse.close();
  });
});

describe("'.' and '..', which no URL can address", () => {
  it("are refused as intent ids, assignees, channels and agents, with the reason", async () => {
    for (const dots of [".", ".."]) {
      const intent = await api(hub, "/v1/intents", { body: { id: dots, title: "t" } });
      expect(intent.status).toBe(400);
      expect(JSON.stringify(intent.body.error.details)).toContain("'.' or '..'");
      for (const field of ["channel", "agent"]) {
        const event = await api(hub, "/v1/events", {
          body: { channel: "c", type: "t", [field]: dots },
        });
        expect(event.status).toBe(400);
      }
      const assignees = await api(hub, "/v1/intents", {
        body: { title: "t", assignees: [dots] },
      });
      expect(assignees.status).toBe(400);
    }
    // Dots among other characters are names like any other.
    const fine = await api(hub, "/v1/intents", { body: { id: "...", title: "t" } });
    expect(fine.status).toBe(201);
    expect((await api(hub, "/v1/intents/...")).body.id).toBe("...");
  });
});

describe("half a surrogate pair, which no store keeps", () => {
  it("is refused in names and intent texts with a 400, where it was stored as U+FFFD", async () => {
    const lone = "x\ud800";
    const event = await api(hub, "/v1/events", {
      body: { type: "custom", channel: "c", agent: lone },
    });
    expect(event.status).toBe(400);
    expect(JSON.stringify(event.body.error.details)).toMatch(/unpaired UTF-16 surrogates/);
    const intent = await api(hub, "/v1/intents", {
      body: { title: `T${lone}` },
      headers: { "idempotency-key": "lone-surrogate" },
    });
    expect(intent.status).toBe(400);
    // A pair (an emoji) is a character like any other, and comes back as sent.
    const emoji = await api(hub, "/v1/events", {
      body: { type: "custom", channel: "🤖", agent: "🤖 bot" },
    });
    expect(emoji.status).toBe(202);
    const listed = await api(hub, `/v1/events?channel=${encodeURIComponent("🤖")}`);
    expect(listed.body.data[0].agent).toBe("🤖 bot");
  });
});
