import type { Hub } from "@chorus/hub";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./cli-process.js";
import { closedPort, startTestHub } from "./hub-fixture.js";

let hub: Hub;
let env: Record<string, string>;

beforeAll(async () => {
  ({ hub, env } = await startTestHub());
});
afterAll(async () => {
  await hub.close();
});

describe("exit codes scripts can rely on", () => {
  it("3 with one line naming the URL when the hub is not reachable", async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const down = { CHORUS_URL: url, CHORUS_API_KEY: "key_whatever_123" };
    const results = await Promise.all([
      runCli(["tail", "-c", "x"], down),
      runCli(["emit", "-c", "x", "-t", "custom"], down),
      runCli(["intents", "list"], down),
    ]);
    for (const result of results) {
      expect(result.code).toBe(3);
      expect(result.stderr.trim()).toBe(
        `chorus: cannot reach the hub at ${url}: connection refused (is \`chorus hub\` running? set CHORUS_URL)`,
      );
    }
  }, 30_000);

  it("--url wins over CHORUS_URL", async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const result = await runCli(["intents", "list", "--url", url], env);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(url);
  }, 30_000);

  it("4 when the hub refuses the key, which is never printed", async () => {
    const wrong = { CHORUS_URL: hub.url, CHORUS_API_KEY: "key_wrong_secret_value" };
    const results = await Promise.all([
      runCli(["tail", "-c", "x"], wrong),
      runCli(["emit", "-c", "x", "-t", "custom"], wrong),
      runCli(["intents", "show", "some-id"], wrong),
      runCli(["intents", "list", "--key", "key_flag_secret_value"], { CHORUS_URL: hub.url }),
      runCli(["intents", "list"], { CHORUS_URL: hub.url }), // no key at all
    ]);
    for (const result of results) {
      expect(result.code).toBe(4);
      expect(result.stderr).toMatch(/refused the API key/);
      expect(result.stderr + result.stdout).not.toMatch(/secret_value/);
    }
  }, 30_000);

  it("1 with the hub's message for an unknown intent", async () => {
    const results = await Promise.all([
      runCli(["intents", "show", "no-such-intent"], env),
      runCli(["intents", "watch", "no-such-intent"], env),
      runCli(["intents", "patch", "no-such-intent", "{}"], env),
      runCli(["tail", "--intent", "no-such-intent"], env),
    ]);
    for (const result of results) {
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/not found/);
    }
  }, 30_000);

  it("2 for a wrong command line, with a pointer to --help", async () => {
    const results = await Promise.all([
      runCli(["tail"], env), // no channel
      runCli(["tail", "-c", "x", "--bogus"], env),
      runCli(["tail", "-c", "x", "--count", "many"], env),
      runCli(["intents"], env),
      runCli(["intents", "frobnicate"], env),
      runCli(["intents", "show"], env),
      runCli(["intents", "status", "id-1", "finished"], env),
      runCli(["intents", "patch", "id-1", "not json"], env),
      runCli(["intents", "create"], env),
      runCli(["nope"], env),
    ]);
    for (const result of results) expect(result.code, result.stderr).toBe(2);
    expect(results[0]?.stderr).toMatch(/--channel <c> \(or CHORUS_CHANNEL\)/);
    expect(results[0]?.stderr).toContain('Run "chorus tail --help"');
    expect(results[6]?.stderr).toMatch(
      /chorus intents status: <status> must be one of draft, active/,
    );
    expect(results[6]?.stderr).toContain('Run "chorus intents status --help"');
  }, 30_000);

  it("help asked for goes to stdout with 0; help for a missing command goes to stderr with 2", async () => {
    const [none, noSubcommand, help, intentsHelp] = await Promise.all([
      runCli([], {}),
      runCli(["intents"], {}),
      runCli(["help"], {}),
      runCli(["intents", "help"], {}),
    ]);
    for (const result of [none, noSubcommand]) {
      expect(result.code).toBe(2);
      expect(result.stdout).toBe("");
      expect(result.stderr).toMatch(/^Usage: chorus/);
    }
    expect(noSubcommand.stderr).toMatch(/^Usage: chorus intents <subcommand>/);
    for (const result of [help, intentsHelp]) {
      expect(result.code).toBe(0);
      expect(result.stderr).toBe("");
      expect(result.stdout).toMatch(/^Usage: chorus/);
    }
  }, 30_000);

  it("--help on every command and subcommand exits 0 with its usage", async () => {
    const commands = [
      [],
      ["tail"],
      ["emit"],
      ["intents"],
      ...[
        "list",
        "show",
        "watch",
        "create",
        "patch",
        "status",
        "assign",
        "unassign",
        "comment",
      ].map((s) => ["intents", s]),
    ];
    const results = await Promise.all(commands.map((c) => runCli([...c, "--help"], {})));
    results.forEach((result, i) => {
      expect(result.code, commands[i]?.join(" ")).toBe(0);
      expect(result.stdout).toMatch(/^Usage: chorus/);
      expect(result.stdout).toMatch(/CHORUS_URL/);
    });
  }, 60_000);
});
