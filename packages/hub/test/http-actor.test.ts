import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Hub } from "../src/index.js";
import { api, startTestHub } from "./helpers.js";

let hub: Hub;
beforeAll(async () => {
  hub = await startTestHub();
});
afterAll(async () => {
  await hub.close();
});

describe("Chorus-Agent header", () => {
  it("names the agent behind each intent write in the log", async () => {
    const headers = { "chorus-agent": "planner" };
    const created = await api(hub, "/v1/intents", { body: { title: "Q" }, headers });
    expect(created.status).toBe(201);
    expect(created.body.createdBy).toBe("planner");
    const id = created.body.id as string;
    const patch = { "chorus-agent": "researcher" };
    expect(
      (
        await api(hub, `/v1/intents/${id}/state`, {
          method: "PATCH",
          body: { a: 1 },
          headers: patch,
        })
      ).status,
    ).toBe(200);
    expect(
      (await api(hub, `/v1/intents/${id}/assignees/writer`, { method: "POST", headers })).status,
    ).toBe(200);
    expect(
      (
        await api(hub, `/v1/intents/${id}/status`, {
          body: { status: "completed" },
          headers: { "chorus-agent": "writer" },
        })
      ).status,
    ).toBe(200);
    const log = await api(hub, `/v1/intents/${id}/events`);
    expect(log.body.data.map((e: { type: string; agent?: string }) => [e.type, e.agent])).toEqual([
      ["intent.created", "planner"],
      ["intent.state_changed", "researcher"],
      ["intent.assigned", "planner"],
      ["intent.status_changed", "writer"],
    ]);
  });

  it("refuses a header that is not a valid agent name", async () => {
    const created = await api(hub, "/v1/intents", { body: { title: "Q" } });
    const res = await api(hub, `/v1/intents/${created.body.id}/state`, {
      method: "PATCH",
      body: { a: 1 },
      headers: { "chorus-agent": "x".repeat(201) },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("validation_failed");
  });
});
