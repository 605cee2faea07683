import type { Hub } from "@chorus/hub";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./cli-process.js";
import { jsonLines, KEY, startTestHub } from "./hub-fixture.js";

let hub: Hub;
let env: Record<string, string>;

beforeAll(async () => {
  ({ hub, env } = await startTestHub());
});
afterAll(async () => {
  await hub.close();
});

async function listChannel(channel: string): Promise<Record<string, unknown>[]> {
  const res = await fetch(`${hub.url}/v1/events?channel=${channel}`, {
    headers: { authorization: `Bearer ${KEY}` },
  });
  return ((await res.json()) as { data: Record<string, unknown>[] }).data;
}

describe("chorus emit", () => {
  it("publishes one event, prints its id, and the hub lists it", async () => {
    const result = await runCli(
      [
        "emit",
        "-c",
        "emitted",
        "-t",
        "tool.start",
        "--agent",
        "researcher",
        "--payload",
        '{"name":"search"}',
        "--text",
        "why",
      ],
      env,
    );
    expect(result.code).toBe(0);
    const id = result.stdout.trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await listChannel("emitted")).toEqual([
      expect.objectContaining({
        id,
        type: "tool.start",
        agent: "researcher",
        payload: { name: "search", text: "why" },
      }),
    ]);
    // And `chorus tail` reads it back.
    const tail = await runCli(
      ["tail", "-c", "emitted", "--after", "0", "--count", "1", "--json"],
      env,
    );
    expect(jsonLines(tail.stdout)[0]).toMatchObject({ id, type: "tool.start" });
  }, 30_000);

  it("publishing the same --id twice stores it once", async () => {
    const args = ["emit", "-c", "idem", "-t", "custom", "--id", "fixed-id-1", "--json"];
    const first = await runCli(args, env);
    const second = await runCli(args, env);
    expect(JSON.parse(first.stdout)).toEqual({ accepted: 1, duplicates: 0, ids: ["fixed-id-1"] });
    expect(JSON.parse(second.stdout)).toMatchObject({ accepted: 0, duplicates: 1 });
    expect(await listChannel("idem")).toHaveLength(1);
  }, 30_000);

  it("reads JSON lines from stdin with '-', flags filling what a line leaves out", async () => {
    const input = [
      '{"type":"custom","payload":{"n":1}}',
      "",
      '{"type":"agent.message","payload":{"text":"hi"},"agent":"w"}',
      "",
    ].join("\n");
    const result = await runCli(
      ["emit", "-c", "stdin", "--agent", "default-agent", "-"],
      env,
      input,
    );
    expect(result.code).toBe(0);
    const ids = result.stdout.trim().split("\n");
    expect(ids).toHaveLength(2);
    const stored = await listChannel("stdin");
    expect(stored.map((e) => [e.id, e.type, e.agent])).toEqual([
      [ids[0], "custom", "default-agent"],
      [ids[1], "agent.message", "w"],
    ]);
  }, 30_000);

  it("refuses bad input with exit 2 and a message that says what is wrong", async () => {
    const [badJson, notObject, noType, noChannel, badLine, badTrace] = await Promise.all([
      runCli(["emit", "-c", "x", "-t", "custom", "--payload", "{nope"], env),
      runCli(["emit", "-c", "x", "-t", "custom", "--payload", "[1,2]"], env),
      runCli(["emit", "-c", "x"], env),
      runCli(["emit", "-t", "custom"], env),
      runCli(["emit", "-c", "x", "-"], env, "not json\n"),
      runCli(["emit", "-c", "x", "-t", "custom", "--trace", "not-hex"], env),
    ]);
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toMatch(/--payload is not valid JSON/);
    expect(notObject.code).toBe(2);
    expect(notObject.stderr).toMatch(/--payload must be a JSON object/);
    expect(noType.code).toBe(2);
    expect(noType.stderr).toMatch(/needs a type/);
    expect(noChannel.code).toBe(2);
    expect(noChannel.stderr).toMatch(/needs a channel/);
    expect(badLine.code).toBe(2);
    expect(badLine.stderr).toMatch(/stdin line 1 is not valid JSON/);
    expect(badTrace.code).toBe(2);
    expect(badTrace.stderr).toMatch(/traceId/);
  }, 30_000);
});
