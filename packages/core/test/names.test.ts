import type { Hub } from "@chorus/hub";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ChorusEvent } from "../src/index.js";
import { client, closeAll, startHub, storedEvents } from "./helpers.js";

let hub: Hub;
beforeAll(async () => {
  hub = await startHub();
});
afterAll(async () => {
  await hub.close();
});
afterEach(closeAll);

/** Names frameworks hand us: an OpenAI agent `Support #2`, a LangGraph node `research/web`. */
const names = { channel: "research/web", agent: "Support #2", app: "Q&A + search 100%" };

describe("names with / + # %", () => {
  it("emit() delivers them: stored, listed and streamed under the same names", async () => {
    const chorus = client({ url: hub.url, ...names });
    const stream = chorus.stream.channel(names.channel, { after: 0 });
    const iterator = stream[Symbol.asyncIterator]();
    const id = chorus.emit({ type: "agent.message", payload: { text: "hi" } });
    expect(id).toBeDefined(); // not refused by the schemas
    await chorus.flush();
    expect(chorus.errors).toEqual([]);
    expect(chorus.stats()).toMatchObject({ invalid: 0, sent: 1 });

    const stored = await storedEvents(hub, { agent: names.agent });
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ id, ...names });
    const listed = await chorus.events.list({ channel: names.channel, app: names.app });
    expect(listed.data.map((e) => e.id)).toEqual([id]);
    const streamed = (await iterator.next()).value as ChorusEvent;
    expect(streamed).toMatchObject({ id, ...names });
  });
});
