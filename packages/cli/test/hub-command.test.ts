import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { main, parseHubArgs } from "../src/index.js";

const BIN = join(import.meta.dirname, "../dist/bin.js");

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l), color: false },
    out,
    err,
  };
}

/** Spawn the built CLI and resolve once it printed `marker` on stdout. */
function spawnCli(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => {
    stdout += d;
  });
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const waitFor = (marker: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (stdout.includes(marker)) resolve();
        else if (child.exitCode !== null) reject(new Error(`exited early: ${stdout}${stderr}`));
        else setTimeout(check, 50);
      };
      check();
    });
  return { child, exited, waitFor, output: () => ({ stdout, stderr }) };
}

let dir: string | undefined;
let child: ChildProcess | undefined;
afterEach(() => {
  child?.kill("SIGKILL");
  child = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe("chorus hub", () => {
  it("parses flags into hub options", () => {
    expect(
      parseHubArgs(["--port", "0", "--mqtt-port", "off", "--db", ":memory:", "--retention", "7d"]),
    ).toEqual({ port: 0, mqttPort: false, db: ":memory:", retention: "7d" });
    expect(parseHubArgs(["-h"])).toBe("help");
    expect(parseHubArgs(["--rate-limit", "600/s"])).toEqual({
      rateLimit: { max: 600, windowMs: 1000 },
    });
    expect(parseHubArgs(["--rate-limit", "off"])).toEqual({ rateLimit: false });
    expect(parseHubArgs(["--trust-proxy", "10.0.0.1, 10.1.0.0/16"])).toEqual({
      trustProxy: ["10.0.0.1", "10.1.0.0/16"],
    });
  });

  it("answers a bad flag with usage and exit code 2", async () => {
    const c = capture();
    expect(await main(["hub", "--port", "http"], c.io)).toBe(2);
    expect(c.err.join("\n")).toMatch(/--port must be a port number/);
    expect(await main(["hub", "--bogus"], c.io)).toBe(2);
    expect(await main(["hub", "--rate-limit", "lots"], c.io)).toBe(2);
    expect(await main(["hub", "--trust-proxy", "proxy.local"], c.io)).toBe(2);
    // A bare number is not milliseconds: it needs a unit.
    for (const bad of ["7", "7 days", "0h", "soon"]) {
      c.err.length = 0;
      expect(await main(["hub", "--retention", bad, "--db", ":memory:"], c.io), bad).toBe(2);
      expect(c.err.join("\n")).toMatch(/--retention: invalid duration/);
    }
    c.err.length = 0;
    await main(["hub", "--retention", "7"], c.io);
    expect(c.err.join("\n")).toMatch(/a number and a unit \(ms, s, m, h, d, w\)/);
    expect(await main(["nope"], c.io)).toBe(2);
  });

  it("refuses to listen beyond loopback without keys", async () => {
    const c = capture();
    expect(
      await main(
        ["hub", "--host", "0.0.0.0", "--port", "0", "--mqtt-port", "0", "--db", ":memory:"],
        c.io,
      ),
    ).toBe(1);
    expect(c.err.join("\n")).toMatch(/refusing to listen on 0\.0\.0\.0 without API keys/);
  });

  it("starts from the built bin, prints where it listens, and exits 0 on SIGTERM with the database checkpointed", async () => {
    dir = mkdtempSync(join(tmpdir(), "chorus-cli-"));
    const db = join(dir, "hub.db");
    const run = spawnCli(["hub", "--port", "0", "--mqtt-port", "0", "--db", db], {
      CHORUS_API_KEYS: "",
    });
    child = run.child;
    await run.waitFor("Press Ctrl+C");
    const { stdout } = run.output();
    // The base URL, usable as CHORUS_URL as printed.
    expect(stdout).toMatch(/HTTP API\s+http:\/\/127\.0\.0\.1:\d+\n/);
    expect(stdout).toMatch(/MQTT\s+mqtt:\/\/127\.0\.0\.1:\d+/);
    expect(stdout).toMatch(/MQTT\/WS\s+ws:\/\/127\.0\.0\.1:\d+\/mqtt/);
    const key = /(dev_[A-Za-z0-9_-]+)/.exec(stdout)?.[1];
    const url = /HTTP API\s+(http:\/\/\S+)/.exec(stdout)?.[1];
    expect(key).toBeDefined();
    // The console's link carries the key in the fragment, which never reaches the server.
    expect(stdout).toContain(`Open the console: ${url}/#key=${key}`);
    const res = await fetch(`${url}/v1/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ channel: "cli", type: "custom" }),
    });
    expect(res.status).toBe(202);
    run.child.kill("SIGTERM");
    expect(await run.exited).toBe(0);
    expect(run.output().stdout).toContain("Hub stopped.");
    // Checkpointed on shutdown: the WAL is folded into the database file.
    const wal = `${db}-wal`;
    expect(!existsSync(wal) || statSync(wal).size === 0).toBe(true);
    // The dev key never reaches the log stream.
    expect(run.output().stderr).not.toContain(key);
  });
});
