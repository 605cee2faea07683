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

  it("reads a non-ASCII name sent as UTF-8 bytes, and a Latin-1 byte as Latin-1", async () => {
    // Node reads header bytes as Latin-1; a name's UTF-8 arrived as mojibake and was stored so.
    const utf8 = (text: string) => Buffer.from(text, "utf8").toString("latin1");
    const created = await api(hub, "/v1/intents", {
      body: { title: "Q" },
      headers: { "chorus-agent": utf8("研究员") },
    });
    expect(created.status).toBe(201);
    expect(created.body.createdBy).toBe("研究员");
    const id = created.body.id as string;
    for (const [i, name] of ["Rédacteur", "Prüfer 🧪"].entries())
      expect(
        (
          await api(hub, `/v1/intents/${id}/assignees/w${i}`, {
            method: "POST",
            headers: { "chorus-agent": utf8(name) },
          })
        ).status,
      ).toBe(200);
    // One byte 0xE9 is not UTF-8: a client that sent é as Latin-1 still means é.
    expect(
      (
        await api(hub, `/v1/intents/${id}/assignees/w9`, {
          method: "POST",
          headers: { "chorus-agent": "Andr\u00e9" },
        })
      ).status,
    ).toBe(200);
    const log = await api(hub, `/v1/intents/${id}/events`);
    expect(log.body.data.map((e: { agent?: string }) => e.agent)).toEqual([
      "研究员",
      "Rédacteur",
      "Prüfer 🧪",
      "André",
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
