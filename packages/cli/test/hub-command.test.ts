import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { listenFailure } from "../src/commands/hub.js";
import { main, parseHubArgs } from "../src/index.js";
import { type CliResult, startCli } from "./cli-process.js";

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
const started: ChildProcess[] = [];
let blocker: Server | undefined;
afterEach(() => {
  child?.kill("SIGKILL");
  child = undefined;
  // A hub that started although the test expected it to stop at once: never leave it running.
  for (const c of started.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
  blocker?.close();
  blocker = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** Run the built `chorus hub …` to its exit (killed after the test if it does not exit). */
async function runHub(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const run = startCli(["hub", ...args], env);
  started.push(run.child);
  run.child.stdin.end();
  const code = await run.exited;
  return { code, ...run.output() };
}

/** A port something else already listens on (127.0.0.1), held until the test ends. */
async function busyPort(): Promise<number> {
  const server = createServer();
  blocker = server;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as { port: number }).port;
}

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

  it("refuses to listen beyond loopback without keys: a configuration error, exit 2", async () => {
    const c = capture();
    expect(
      await main(
        ["hub", "--host", "0.0.0.0", "--port", "0", "--mqtt-port", "0", "--db", ":memory:"],
        c.io,
      ),
    ).toBe(2);
    expect(c.err).toEqual([
      "chorus hub: refusing to listen on 0.0.0.0 without API keys: set CHORUS_API_KEYS=org:key (or bind to 127.0.0.1)",
    ]);
  });

  it("reads a setting from its CHORUS_* variable when its flag is absent; the flag wins", () => {
    expect(
      parseHubArgs([], {
        CHORUS_PORT: "4000",
        CHORUS_MQTT_PORT: "off",
        CHORUS_RETENTION: "", // empty is unset, as the hub reads it
        CHORUS_RATE_LIMIT: "600/s",
        CHORUS_LOG_LEVEL: "warn",
      }),
    ).toEqual({
      port: 4000,
      mqttPort: false,
      rateLimit: { max: 600, windowMs: 1000 },
      logLevel: "warn",
    });
    expect(
      parseHubArgs(["--port", "0", "--log-level", "info"], {
        CHORUS_PORT: "abc",
        CHORUS_LOG_LEVEL: "loud",
      }),
    ).toEqual({
      port: 0,
      logLevel: "info",
    });
  });

  it("a bad CHORUS_* variable exits 2 with one line naming it, from the built bin", async () => {
    const freePorts = ["--port", "0", "--mqtt-port", "0"];
    const cases: { env: Record<string, string>; ports?: string[]; line: string | RegExp }[] = [
      {
        env: { CHORUS_PORT: "abc" },
        ports: ["--mqtt-port", "0"],
        line: 'chorus hub: CHORUS_PORT must be a port number (0-65535), got "abc"',
      },
      {
        env: { CHORUS_MQTT_PORT: "x" },
        ports: ["--port", "0"],
        line: 'chorus hub: CHORUS_MQTT_PORT must be a port number (0-65535), got "x"',
      },
      {
        env: { CHORUS_RETENTION: "7" },
        line: /^chorus hub: CHORUS_RETENTION: invalid duration "7": a number and a unit/,
      },
      {
        env: { CHORUS_RATE_LIMIT: "lots" },
        line: /^chorus hub: CHORUS_RATE_LIMIT: invalid rate limit "lots"/,
      },
      {
        env: { CHORUS_TRUST_PROXY: "proxy.local" },
        line: /^chorus hub: CHORUS_TRUST_PROXY: invalid trusted proxy "proxy.local"/,
      },
      {
        env: { CHORUS_LOG_LEVEL: "loud" },
        line: 'chorus hub: CHORUS_LOG_LEVEL must be debug, info, warn or error, got "loud"',
      },
      {
        env: { CHORUS_HOST: "" },
        line: 'chorus hub: CHORUS_HOST must be an address to bind, such as 127.0.0.1, got ""',
      },
      // Variables only the hub reads: its own check and message, the same exit code.
      {
        env: { CHORUS_REALTIME_TTL: "1" },
        line: "chorus hub: CHORUS_REALTIME_TTL must be at least 5 seconds",
      },
      {
        env: { CHORUS_MQTT_AUTH: "bad" },
        line: 'chorus hub: CHORUS_MQTT_AUTH must be "dynsec" or "hooks", got "bad"',
      },
      {
        env: { CHORUS_MQTT_PORT: "7420" },
        ports: [],
        line: "chorus hub: HTTP and MQTT cannot both listen on port 7420: pass a different --port or --mqtt-port",
      },
    ];
    const results = await Promise.all(
      cases.map(({ env, ports = freePorts }) => runHub([...ports, "--db", ":memory:"], env)),
    );
    results.forEach((result, i) => {
      const { env, line } = cases[i] as (typeof cases)[number];
      const what = JSON.stringify(env);
      expect(result.code, what).toBe(2);
      expect(result.stdout, what).toBe("");
      // One line: no stack trace, no usage dump.
      expect(result.stderr.trimEnd().split("\n"), what).toHaveLength(1);
      if (typeof line === "string") expect(result.stderr.trimEnd(), what).toBe(line);
      else expect(result.stderr, what).toMatch(line);
    });
  }, 60_000);

  it("a port in use, or an address the machine lacks, exits 3 with one line saying what to change", async () => {
    const port = await busyPort();
    const [http, mqtt, address] = await Promise.all([
      runHub(["--port", String(port), "--mqtt-port", "0", "--db", ":memory:"]),
      runHub(["--port", "0", "--mqtt-port", String(port), "--db", ":memory:"]),
      // 192.0.2.0/24 is TEST-NET-1: documentation only, never a machine's address.
      runHub(["--host", "192.0.2.1", "--port", "4000", "--mqtt-port", "0", "--db", ":memory:"], {
        CHORUS_API_KEYS: "acme:key_acme_0123456789",
      }),
    ]);
    expect(http.code).toBe(3);
    expect(http.stderr.trimEnd()).toBe(
      `chorus hub: cannot listen on 127.0.0.1:${port}: the port is in use (EADDRINUSE); pass --port or stop the other process`,
    );
    expect(mqtt.code).toBe(3);
    // The HTTP server was already up (its log line comes first); the broker's port is the busy one.
    expect(mqtt.stderr.trimEnd().split("\n").at(-1)).toBe(
      `chorus hub: cannot listen for MQTT on 127.0.0.1:${port}: the port is in use (EADDRINUSE); pass --mqtt-port (0 picks a free one, off disables MQTT TCP) or stop the other process`,
    );
    expect(address.code).toBe(3);
    expect(address.stderr.trimEnd()).toBe(
      "chorus hub: cannot listen on 192.0.2.1:4000: this machine has no such address (EADDRNOTAVAIL); pass --host with one of its addresses (127.0.0.1 for this machine only, 0.0.0.0 for all)",
    );
    for (const result of [http, mqtt, address]) expect(result.stdout).toBe("");
  }, 60_000);

  it("names each listen error (a privileged port, an unknown host) and leaves other failures alone", () => {
    const config = { host: "127.0.0.1", port: 80, mqttPort: 1883 as number | false };
    const error = (fields: Record<string, unknown>) =>
      Object.assign(new Error(`${fields.syscall} ${fields.code}`), fields);
    expect(
      listenFailure(
        error({ code: "EACCES", syscall: "listen", address: "127.0.0.1", port: 80 }),
        config,
      ),
    ).toBe(
      "cannot listen on 127.0.0.1:80: permission denied (EACCES): ports below 1024 need privileges; pass --port 1024 or above",
    );
    expect(
      listenFailure(
        error({ code: "EACCES", syscall: "listen", address: "127.0.0.1", port: 1883 }),
        config,
      ),
    ).toBe(
      "cannot listen for MQTT on 127.0.0.1:1883: permission denied (EACCES); pass --mqtt-port (0 picks a free one, off disables MQTT TCP)",
    );
    expect(
      listenFailure(
        error({ code: "EADDRNOTAVAIL", syscall: "listen", address: "fd00::1", port: 4000 }),
        {
          ...config,
          host: "fd00::1",
          port: 4000,
        },
      ),
    ).toMatch(
      /^cannot listen on \[fd00::1\]:4000: this machine has no such address \(EADDRNOTAVAIL\)/,
    );
    expect(
      listenFailure(error({ code: "ENOTFOUND", syscall: "getaddrinfo", hostname: "hub.invalid" }), {
        ...config,
        host: "hub.invalid",
        port: 7420,
      }),
    ).toBe(
      "cannot listen on hub.invalid:7420: the host name does not resolve (ENOTFOUND); pass --host with one of this machine's addresses",
    );
    // Not a listen: the database file, a Postgres host. Those stay failures (exit 1).
    expect(
      listenFailure(error({ code: "EACCES", syscall: "open", path: "/x.db" }), config),
    ).toBeUndefined();
    expect(
      listenFailure(
        error({ code: "ENOTFOUND", syscall: "getaddrinfo", hostname: "db.internal" }),
        config,
      ),
    ).toBeUndefined();
    expect(listenFailure(new Error("database is locked"), config)).toBeUndefined();
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
