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
  port: number;
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
  const port = await freePort();
  const conf = join(dir, "mosquitto.conf");
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      `plugin ${DYNSEC_PLUGIN}`,
      `plugin_opt_config_file ${dynsec}`,
      "persistence false",
      "log_dest stderr",
      "",
    ].join("\n"),
  );
  const child: ChildProcess = spawn("mosquitto", ["-c", conf], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  const deadline = Date.now() + 10_000;
  while (!stderr.includes("running")) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited: ${stderr}`);
    if (Date.now() > deadline) throw new Error(`mosquitto did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    adminUrl: `mqtt://admin:${password}@127.0.0.1:${port}`,
    port,
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
