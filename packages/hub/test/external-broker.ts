import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { systemTool } from "../../../test/system-tools.js";
import { freePort } from "./free-port.js";

/** The dynamic-security plugin of Debian's mosquitto package. */
export const DYNSEC_PLUGIN = "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so";

/** Whether the external-broker tests run (Debian's mosquitto with mosquitto_ctrl; required under CI). */
export const haveMosquitto = systemTool(
  "external MQTT broker tests",
  spawnSync("mosquitto_ctrl", ["--help"]).error === undefined &&
    spawnSync("mosquitto", ["-h"]).error === undefined,
  "apt-get install mosquitto",
);

export interface DynsecMosquitto {
  /** `mqtt://admin:…@127.0.0.1:port`: what `CHORUS_MQTT_URL` is set to. */
  adminUrl: string;
  /** The admin's password, for `mosquitto_ctrl` in tests. */
  adminPassword: string;
  port: number;
  /** Stop the broker (SIGTERM) and wait for it to exit; its state file stays for {@link start}. */
  stop(): Promise<void>;
  /** Start it again on the same port with the same configuration and state. */
  start(): Promise<void>;
  /** Freeze the broker (SIGSTOP): connections stay open, nothing is answered. */
  pause(): void;
  /** Let a paused broker run again (SIGCONT). */
  resume(): void;
  close(): Promise<void>;
}

/**
 * A real Mosquitto 2 with its dynamic-security plugin, initialised as an operator would
 * (`mosquitto_ctrl dynsec init`), on a free loopback port.
 */
export async function startDynsecMosquitto(): Promise<DynsecMosquitto> {
  const dir = mkdtempSync(join(tmpdir(), "chorus-mosquitto-"));
  const dynsec = join(dir, "dynamic-security.json");
  const password = "admin-password-for-tests";
  const init = spawnSync("mosquitto_ctrl", ["dynsec", "init", dynsec, "admin", password], {
    encoding: "utf8",
  });
  if (init.status !== 0) throw new Error(`mosquitto_ctrl dynsec init failed: ${init.stderr}`);
  // Started as root, Mosquitto drops to its own user, which must reach and rewrite the file.
  chmodSync(dir, 0o777);
  chmodSync(dynsec, 0o666);
  const broker = await runMosquitto(dir, [
    `plugin ${DYNSEC_PLUGIN}`,
    `plugin_opt_config_file ${dynsec}`,
  ]);
  return {
    ...broker,
    adminUrl: `mqtt://admin:${password}@127.0.0.1:${broker.port}`,
    adminPassword: password,
  };
}

export interface PlainMosquitto {
  /** `mqtt://127.0.0.1:port`, anonymous clients allowed. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * A real Mosquitto 2 that lets anyone connect: the broker a hub in hooks mode talks to when the
 * test calls the hook routes itself, the way EMQX or VerneMQ would.
 */
export async function startPlainMosquitto(): Promise<PlainMosquitto> {
  const dir = mkdtempSync(join(tmpdir(), "chorus-mosquitto-"));
  chmodSync(dir, 0o777);
  const broker = await runMosquitto(dir, ["allow_anonymous true"]);
  return { ...broker, url: `mqtt://127.0.0.1:${broker.port}` };
}

/** Mosquitto on a free loopback port with `extra` configuration lines, restartable on that port. */
async function runMosquitto(
  dir: string,
  extra: string[],
): Promise<Omit<DynsecMosquitto, "adminUrl" | "adminPassword">> {
  const port = await freePort();
  const conf = join(dir, "mosquitto.conf");
  writeFileSync(
    conf,
    [`listener ${port} 127.0.0.1`, ...extra, "persistence false", "log_dest stderr", ""].join("\n"),
  );
  let child: ChildProcess | undefined;
  const start = async () => {
    const proc = spawn("mosquitto", ["-c", conf], { stdio: ["ignore", "ignore", "pipe"] });
    child = proc;
    let stderr = "";
    proc.stderr?.on("data", (chunk) => {
      stderr += chunk;
    });
    const deadline = Date.now() + 10_000;
    while (!stderr.includes("running")) {
      if (proc.exitCode !== null) throw new Error(`mosquitto exited: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`mosquitto did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stop = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    proc.kill("SIGCONT");
    const exited = new Promise((r) => proc.once("exit", r));
    proc.kill("SIGTERM");
    await exited;
  };
  await start();
  return {
    port,
    stop,
    start,
    pause: () => child?.kill("SIGSTOP"),
    resume: () => child?.kill("SIGCONT"),
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
