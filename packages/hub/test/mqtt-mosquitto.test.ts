import { spawn, spawnSync } from "node:child_process";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { Hub } from "../src/index.js";
import { systemTool } from "../../../test/system-tools.js";
import { api, KEY_A, startTestHub } from "./helpers.js";

// Interop with a broker-independent client: mosquitto_sub, from Debian's mosquitto-clients
// (required under CI, skipped with a warning elsewhere: see test/system-tools.ts).
const runIt = systemTool(
  "mosquitto interop",
  spawnSync("mosquitto_sub", ["--help"]).error === undefined,
  "apt-get install mosquitto-clients",
);

let hub: Hub;
beforeAll(async () => {
  hub = await startTestHub();
});
afterAll(async () => {
  await hub.close();
});

test.runIf(runIt)(
  "mosquitto_sub receives the canonical topic and JSON of an event stored through the hub",
  async () => {
    const sub = spawn(
      "mosquitto_sub",
      [
        "-h",
        "127.0.0.1",
        "-p",
        String(hub.mqttPort),
        "-V",
        "mqttv311",
        "-u",
        "any",
        "-P",
        KEY_A,
        "-t",
        "chorus/acme/#",
        "-v",
        "-C",
        "1",
        "-W",
        "10",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    sub.stdout.on("data", (d) => (stdout += d));
    sub.stderr.on("data", (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve, reject) => {
      sub.on("error", (e) =>
        reject(
          new Error(
            `mosquitto_sub could not run (apt-get install mosquitto-clients): ${e.message}`,
          ),
        ),
      );
      sub.on("close", (code) => resolve(code));
    });

    // mosquitto_sub gives no sign when its SUBSCRIBE is in place, so post until it has one message.
    const ids: string[] = [];
    let running = true;
    exited.finally(() => (running = false)).catch(() => {});
    while (running && ids.length < 40) {
      const res = await api(hub, "/v1/events", {
        body: { channel: "research", type: "tool.start", agent: "mosquitto" },
      });
      ids.push(res.body.ids[0]);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(await exited, stderr).toBe(0);

    const line = stdout.trim();
    const space = line.indexOf(" ");
    expect(line.slice(0, space)).toBe("chorus/acme/default/research/_/tool.start/mosquitto");
    const event = JSON.parse(line.slice(space + 1));
    expect(ids).toContain(event.id);
    expect(event).toMatchObject({
      channel: "research",
      type: "tool.start",
      agent: "mosquitto",
      env: "default",
    });
    expect(event.seq).toBeTypeOf("number");
  },
  20_000,
);
