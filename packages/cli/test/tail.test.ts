import type { Hub } from "@chorus/hub";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type CliProcess, runCli, startCli } from "./cli-process.js";
import { jsonLines, startTestHub } from "./hub-fixture.js";

let hub: Hub;
let env: Record<string, string>;
let post: (events: object | object[]) => Promise<void>;
let running: CliProcess | undefined;

beforeAll(async () => {
  ({ hub, env, post } = await startTestHub());
});
afterEach(() => {
  running?.child.kill("SIGKILL");
  running = undefined;
});
afterAll(async () => {
  await hub.close();
});

/** Post one event every 100 ms until the process exits: the tail connects whenever it connects. */
async function feedUntilExit(run: CliProcess, make: (i: number) => object): Promise<number | null> {
  let done = false;
  const exited = run.exited.then((code) => {
    done = true;
    return code;
  });
  for (let i = 0; !done && i < 150; i++) {
    await post(make(i));
    await new Promise((r) => setTimeout(r, 100));
  }
  return exited;
}

describe("chorus tail", () => {
  it("--json --count 3 prints exactly three events, one JSON object per line, then exits 0", async () => {
    running = startCli(["tail", "--channel", "live", "--json", "--count", "3"], env);
    const code = await feedUntilExit(running, (i) => ({
      channel: "live",
      type: "tool.start",
      payload: { name: `t${i}` },
    }));
    expect(code).toBe(0);
    const { stdout, stderr } = running.output();
    const events = jsonLines(stdout);
    expect(events).toHaveLength(3);
    for (const e of events) expect(e).toMatchObject({ channel: "live", type: "tool.start" });
    const seqs = events.map((e) => e.seq as number);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(3);
    expect(stderr).toBe("");
  }, 30_000);

  it("prints one readable line per event and stops with exit 0 on Ctrl+C", async () => {
    running = startCli(["tail", "-c", "human"], env);
    await running.waitFor("following channel human", "stderr");
    // A link a person clicks to watch the same channel in the console, without the key.
    await running.waitFor("in the browser:", "stderr");
    const { stderr } = running.output();
    expect(stderr).toContain(`chorus: in the browser: ${hub.url}/#channel=human`);
    expect(stderr).not.toContain("key=");
    await post({
      channel: "human",
      type: "llm.end",
      agent: "writer",
      payload: { model: "claude-x", usage: { inputTokens: 7, outputTokens: 5 } },
    });
    await running.waitFor("llm.end");
    const line = running.output().stdout.trim();
    expect(line).toMatch(/#\d+\s+llm\.end\s+writer\s+human\s+claude-x 7→5 tokens/);
    expect(line).not.toContain("\u001b["); // not a terminal: no colours
    running.child.kill("SIGINT");
    expect(await running.exited).toBe(0);
  }, 30_000);

  it("filters by type and agent, and replays stored events with --after", async () => {
    await post([
      { channel: "filters", type: "tool.start", agent: "a", payload: { name: "x" } },
      { channel: "filters", type: "tool.end", agent: "b", payload: { name: "x" } },
      { channel: "filters", type: "tool.end", agent: "a", payload: { name: "y" } },
    ]);
    const result = await runCli(
      [
        "tail",
        "-c",
        "filters",
        "--type",
        "tool.end",
        "--agent",
        "a",
        "--after",
        "0",
        "--count",
        "1",
        "--json",
      ],
      env,
    );
    expect(result.code).toBe(0);
    expect(jsonLines(result.stdout)).toEqual([
      expect.objectContaining({ type: "tool.end", agent: "a", payload: { name: "y" } }),
    ]);
  }, 30_000);

  it("takes the channel from CHORUS_CHANNEL", async () => {
    await post({ channel: "from-env", type: "custom", payload: { text: "hi" } });
    const result = await runCli(["tail", "--after", "0", "-n", "1"], {
      ...env,
      CHORUS_CHANNEL: "from-env",
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/custom\s+-\s+from-env\s+"hi"/);
  }, 30_000);
});
