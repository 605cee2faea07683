import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type DynsecMosquitto,
  startDynsecMosquitto,
} from "../../packages/hub/test/external-broker.js";
import { freePort } from "../../packages/hub/test/free-port.js";
import { type PgCluster, startPgCluster } from "../../packages/hub/test/pg-cluster.js";

/*
 * deploy/compose.yaml's topology started from processes, because CI cannot pull images:
 * Postgres (a temporary cluster from Debian's binaries), Mosquitto 2 with its dynamic-security
 * plugin, hubs as `chorus hub` processes (so SIGKILL is real), and nginx rendered from the very
 * template compose mounts (deploy/nginx/chorus.conf.template).
 */

const HERE = dirname(fileURLToPath(import.meta.url));
const CLI = join(HERE, "../../packages/cli/dist/bin.js");
export const TEMPLATE = join(HERE, "../nginx/chorus.conf.template");

export const ORG = "acme";
export const KEY = "key_acme_deploy_0123456789";

/** Whether `program` runs here (spawnSync reports a missing binary as an error). */
export function have(program: string, args: string[] = ["-v"]): boolean {
  return spawnSync(program, args).error === undefined;
}

/** Debian's nginx binary: on PATH, or in /usr/sbin (not on a non-root PATH). */
export function nginxBinary(): string | undefined {
  for (const candidate of ["nginx", "/usr/sbin/nginx"]) if (have(candidate)) return candidate;
  return undefined;
}

/**
 * Fill `${NAME}` placeholders from `values`, as the nginx image's envsubst does with the
 * environment; a name without a value is an error here (nginx would refuse the `listen`).
 */
export function renderTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\$\{([A-Z0-9_]+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no value for \${${name}} in the nginx template`);
    return value;
  });
}

export interface HubProcess {
  url: string;
  port: number;
  pid: number;
  /** SIGKILL: no shutdown, no goodbye to Postgres or the broker. */
  kill(): Promise<void>;
  alive(): boolean;
}

async function waitUntil(what: string, ok: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what} did not come up within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `chorus hub` in its own process, on Postgres and the external broker, ready (/readyz). */
export async function startHubProcess(env: Record<string, string>): Promise<HubProcess> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [CLI, "hub"], {
    env: {
      ...process.env,
      CHORUS_PORT: String(port),
      CHORUS_HOST: "127.0.0.1",
      CHORUS_MQTT_PORT: "off",
      CHORUS_API_KEYS: `${ORG}:${KEY}`,
      CHORUS_LOG_LEVEL: "warn",
      // nginx on loopback is the proxy whose X-Forwarded-For the hubs believe.
      CHORUS_TRUST_PROXY: "loopback",
      ...env,
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntil(`hub on ${port}`, async () => {
      if (child.exitCode !== null) throw new Error(`hub exited: ${stderr}`);
      return (await fetch(`${url}/readyz`)).status === 200;
    });
  } catch (error) {
    child.kill("SIGKILL");
    throw new Error(`${(error as Error).message}\n${stderr}`);
  }
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    url,
    port,
    pid: child.pid as number,
    alive: () => child.exitCode === null && child.signalCode === null,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}

export interface Nginx {
  url: string;
  /** The rendered chorus.conf (what compose's nginx would run with these upstreams). */
  config: string;
  close(): Promise<void>;
}

/**
 * nginx as an unprivileged foreground process: its own prefix directory (`-p`), `daemon off`,
 * temp paths and logs inside it, the Chorus template included in a minimal main config.
 */
export async function startNginx(binary: string, hubs: string[]): Promise<Nginx> {
  const dir = mkdtempSync(join(tmpdir(), "chorus-nginx-"));
  for (const sub of ["logs", "temp"]) mkdirSync(join(dir, sub));
  const port = await freePort();
  const values: Record<string, string> = { CHORUS_LISTEN: `127.0.0.1:${port}` };
  for (const [i, hub] of hubs.entries()) values[`CHORUS_HUB_${i + 1}`] = hub;
  const config = renderTemplate(readFileSync(TEMPLATE, "utf8"), values);
  writeFileSync(join(dir, "chorus.conf"), config);
  const temp = join(dir, "temp");
  writeFileSync(
    join(dir, "nginx.conf"),
    [
      "daemon off;",
      "worker_processes 1;",
      `pid ${join(dir, "nginx.pid")};`,
      `error_log ${join(dir, "logs", "error.log")} warn;`,
      "events { worker_connections 1024; }",
      "http {",
      "  access_log off;",
      `  client_body_temp_path ${temp}/body;`,
      `  proxy_temp_path ${temp}/proxy;`,
      `  fastcgi_temp_path ${temp}/fastcgi;`,
      `  uwsgi_temp_path ${temp}/uwsgi;`,
      `  scgi_temp_path ${temp}/scgi;`,
      `  include ${join(dir, "chorus.conf")};`,
      "}",
      "",
    ].join("\n"),
  );
  const child = spawn(binary, ["-p", dir, "-c", join(dir, "nginx.conf")], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    await waitUntil("nginx", async () => {
      if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr}`);
      return (await fetch(`${url}/healthz`)).status === 200;
    });
  } catch (error) {
    child.kill("SIGKILL");
    throw new Error(`${(error as Error).message}\n${stderr}`);
  }
  return {
    url,
    config,
    async close() {
      if (child.exitCode === null) child.kill("SIGQUIT");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Topology {
  pg: PgCluster;
  broker: DynsecMosquitto;
  hubs: HubProcess[];
  nginx: Nginx;
  close(): Promise<void>;
}

/** Postgres, Mosquitto with dynsec, `count` hubs on both, nginx in front of them. */
export async function startTopology(nginx: string, count = 3): Promise<Topology> {
  const pg = await startPgCluster();
  const broker = await startDynsecMosquitto();
  const hubs: HubProcess[] = [];
  try {
    // One at a time: the first runs the migrations (under an advisory lock anyway).
    for (let i = 0; i < count; i++)
      hubs.push(
        await startHubProcess({ CHORUS_DB: pg.adminUrl, CHORUS_MQTT_URL: broker.adminUrl }),
      );
    const proxy = await startNginx(
      nginx,
      hubs.map((h) => `127.0.0.1:${h.port}`),
    );
    return {
      pg,
      broker,
      hubs,
      nginx: proxy,
      async close() {
        await proxy.close();
        await Promise.all(hubs.map((h) => h.kill()));
        await broker.close();
        pg.stop();
      },
    };
  } catch (error) {
    await Promise.all(hubs.map((h) => h.kill()));
    await broker.close();
    pg.stop();
    throw error;
  }
}

/** Sum of one metric's samples in a hub's Prometheus text (0 when absent). */
export async function metric(hubUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${hubUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n"))
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`))
      sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  return sum;
}
