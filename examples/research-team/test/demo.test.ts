import { spawn } from "node:child_process";
import { join } from "node:path";
import { createHub, type Hub } from "@chorus/hub";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// The demo as CI runs it: against a hub of its own (CHORUS_URL), offline models, then the hub
// is asked what happened.
const KEY = "key_demo_0123456789";
let hub: Hub;
beforeAll(async () => {
  hub = await createHub({
    port: 0,
    mqttPort: 0,
    db: ":memory:",
    logger: false,
    apiKeys: `acme:${KEY}`,
  });
});
afterAll(async () => {
  await hub.close();
});

async function get(path: string): Promise<any> {
  const res = await fetch(`${hub.url}${path}`, { headers: { authorization: `Bearer ${KEY}` } });
  expect(res.status).toBe(200);
  return res.json();
}

describe("examples/research-team", () => {
  it("runs offline to a completed intent whose LLM and tool events are all linked to it", async () => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      CHORUS_URL: hub.url,
      CHORUS_API_KEY: KEY,
      CHORUS_CHANNEL: "demo-ci",
      NO_COLOR: "1",
    };
    delete env.OPENAI_API_KEY;
    delete env.ANTHROPIC_API_KEY;
    const child = spawn(process.execPath, ["--import", "tsx", "src/index.ts"], {
      cwd: join(import.meta.dirname, ".."),
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code, out).toBe(0);
    expect(out).toContain("summary");
    // It ends with the console's link to the demo's channel, which a person clicks.
    expect(out).toMatch(/watch it in the console: http:\/\/\S+\/#key=\S+&channel=demo-ci\b/);

    const intents = (await get("/v1/intents")).data;
    expect(intents).toHaveLength(1);
    const intent = intents[0];
    expect(intent.status).toBe("completed");
    expect(intent.state.answer).toMatch(/orchestrator/);
    expect(intent.state.track).toBe("Systems analyst");

    const events = (await get(`/v1/events?intentId=${intent.id}&limit=1000`)).data as any[];
    const llmEnds = events.filter((e) => e.type === "llm.end");
    // One framework per agent, every call linked to the intent and to its agent.
    expect(new Set(llmEnds.map((e) => e.metadata.framework))).toEqual(
      new Set(["openai-agents", "langchain", "anthropic"]),
    );
    expect(new Set(llmEnds.map((e) => e.agent))).toEqual(
      new Set(["triage", "researcher", "writer"]),
    );
    const channelEvents = (await get("/v1/events?channel=demo-ci&limit=1000")).data as any[];
    expect(channelEvents.length).toBeGreaterThan(0);
    expect(channelEvents.every((e) => e.intentId === intent.id)).toBe(true);
    expect(
      events.some((e) => e.type === "agent.handoff" && e.payload.to === "Systems analyst"),
    ).toBe(true);
    for (const name of ["search_notes", "format_citations"]) {
      const start = events.find((e) => e.type === "tool.start" && e.payload.name === name);
      const end = events.find((e) => e.type === "tool.end" && e.payload.name === name);
      expect(start?.payload.callId).toBeDefined();
      expect(end?.payload.callId).toBe(start?.payload.callId);
    }
    expect(events.filter((e) => e.type === "intent.state_changed").map((e) => e.agent)).toEqual([
      "triage",
      "researcher",
      "writer",
    ]);
  }, 120_000);
});

describe("examples/research-team --keep", () => {
  it("with its own hub, keeps it running after the run, serving the console the link names, until stopped", async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
    for (const name of ["CHORUS_URL", "CHORUS_API_KEY", "CHORUS_CHANNEL", "CHORUS_KEEP"])
      delete env[name];
    delete env.OPENAI_API_KEY;
    delete env.ANTHROPIC_API_KEY;
    const child = spawn(process.execPath, ["--import", "tsx", "src/index.ts", "--keep"], {
      cwd: join(import.meta.dirname, ".."),
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    try {
      await expect
        .poll(() => out, { timeout: 120_000, interval: 200 })
        .toContain("the hub keeps running (--keep)");
      const link = /watch it in the console: (http:\/\/\S+)/.exec(out)?.[1];
      expect(link).toMatch(/\/#key=\S+&channel=research-team$/);
      // The page the link opens, served by the hub the demo keeps running.
      const page = await fetch(new URL("/", link));
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("<script");
      child.kill("SIGTERM"); // as Ctrl+C (tsx, the demo's runner, answers SIGINT itself with 130)
      expect(await exited, out).toBe(0);
    } finally {
      child.kill("SIGKILL");
    }
  }, 180_000);
});
