import type { Hub } from "@chorus/hub";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type CliProcess, runCli, startCli } from "./cli-process.js";
import { jsonLines, startTestHub } from "./hub-fixture.js";

let hub: Hub;
let env: Record<string, string>;
let running: CliProcess | undefined;

beforeAll(async () => {
  ({ hub, env } = await startTestHub());
});
afterEach(() => {
  running?.child.kill("SIGKILL");
  running = undefined;
});
afterAll(async () => {
  await hub.close();
});

async function create(title: string, ...flags: string[]): Promise<string> {
  const result = await runCli(["intents", "create", "--title", title, ...flags], env);
  expect(result.code, result.stderr).toBe(0);
  return result.stdout.trim();
}

describe("chorus intents", () => {
  it("create prints the id; list --json and show --json parse", async () => {
    const id = await create(
      "Research MQTT",
      "--assignee",
      "researcher",
      "--state",
      '{"question":"which broker?"}',
      "--portfolio",
      "p1",
    );
    const list = await runCli(["intents", "list", "--portfolio", "p1", "--json"], env);
    expect(list.code).toBe(0);
    expect(jsonLines(list.stdout)).toEqual([
      expect.objectContaining({
        id,
        title: "Research MQTT",
        status: "active",
        version: 1,
        assignees: ["researcher"],
      }),
    ]);
    const human = await runCli(["intents", "list", "--assignee", "researcher"], env);
    expect(human.stdout).toMatch(new RegExp(`${id}\\s+active\\s+v1\\s+Research MQTT → researcher`));

    const show = await runCli(["intents", "show", id, "--json"], env);
    expect(show.code).toBe(0);
    const { intent, events } = JSON.parse(show.stdout) as {
      intent: { state: unknown };
      events: { type: string }[];
    };
    expect(intent.state).toEqual({ question: "which broker?" });
    expect(events.map((e) => e.type)).toEqual(["intent.created", "intent.assigned"]);
  }, 30_000);

  it("patch, status, assign and comment change the intent; show prints old → new", async () => {
    const id = await create("Write report", "--state", '{"stage":"draft"}');
    const patch = await runCli(
      ["intents", "patch", id, '{"stage":"review"}', "--if-match", "1", "--json"],
      env,
    );
    expect(patch.code).toBe(0);
    expect(JSON.parse(patch.stdout)).toMatchObject({ version: 2, state: { stage: "review" } });
    expect((await runCli(["intents", "assign", id, "writer"], env)).stdout).toMatch(
      /active v2 → writer/,
    );
    expect(
      (await runCli(["intents", "comment", id, "looks good", "--agent", "writer"], env)).code,
    ).toBe(0);
    expect(
      (await runCli(["intents", "status", id, "blocked", "--reason", "waiting"], env)).stdout,
    ).toMatch(/blocked v3/);

    const show = await runCli(["intents", "show", id], env);
    expect(show.stdout).toContain("Write report");
    expect(show.stdout).toContain('stage: "draft" → "review"');
    expect(show.stdout).toMatch(/intent\.comment\s+writer\s+intents\s+"looks good"/);
    expect(show.stdout).toContain("active → blocked (waiting)");
  }, 30_000);

  it("refuses a stale --if-match and an illegal transition with exit 1 and the hub's message", async () => {
    const id = await create("Conflicts");
    await runCli(["intents", "patch", id, '{"a":1}'], env);
    const stale = await runCli(["intents", "patch", id, '{"a":2}', "--if-match", "1"], env);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/version/);
    expect((await runCli(["intents", "status", id, "completed"], env)).code).toBe(0);
    const illegal = await runCli(["intents", "status", id, "active"], env);
    expect(illegal.code).toBe(1);
    expect(illegal.stderr).toMatch(/completed/);
  }, 30_000);

  it("watch shows a state change as old → new and exits 0 when the intent completes", async () => {
    const id = await create("Watched", "--state", '{"stage":"planning"}');
    running = startCli(["intents", "watch", id], env);
    await running.waitFor("watching", "stderr");
    expect((await runCli(["intents", "patch", id, '{"stage":"researching"}'], env)).code).toBe(0);
    await running.waitFor('stage: "planning" → "researching"');
    expect((await runCli(["intents", "status", id, "completed"], env)).code).toBe(0);
    expect(await running.exited).toBe(0);
    const { stdout } = running.output();
    expect(stdout).toMatch(/intent\.state_changed.*v2 stage/);
    expect(stdout).toMatch(/intent\.status_changed.*active → completed/);
    expect(stdout).not.toContain("intent.created"); // only what happened after it started
  }, 30_000);

  it("watch --json prints the log events as JSON lines; --history includes the past", async () => {
    const id = await create("Watched as JSON");
    running = startCli(["intents", "watch", id, "--json", "--history", "--count", "1"], env);
    // --history prints intent.created at once; --count 1 then waits for one live event.
    await running.waitFor("intent.created");
    await runCli(["intents", "patch", id, '{"k":"v"}'], env);
    expect(await running.exited).toBe(0);
    const lines = jsonLines(running.output().stdout);
    expect(lines.map((e) => e.type)).toEqual(["intent.created", "intent.state_changed"]);
    expect(lines[1]).toMatchObject({
      intentId: id,
      payload: { changedKeys: ["k"], state: { k: "v" } },
    });
    expect(running.output().stderr).toBe("");
  }, 30_000);

  it("tail --intent follows an intent's log", async () => {
    const id = await create("Tailed", "--assignee", "a1");
    const result = await runCli(
      ["tail", "--intent", id, "--after", "0", "--count", "2", "--json"],
      env,
    );
    expect(result.code).toBe(0);
    expect(jsonLines(result.stdout).map((e) => e.type)).toEqual([
      "intent.created",
      "intent.assigned",
    ]);
  }, 30_000);
});
