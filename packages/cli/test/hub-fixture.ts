import { createServer } from "node:net";
import { createHub, type Hub } from "@chorus/hub";

export const KEY = "key_acme_0123456789";

/** A real hub in this process on free ports, and the env that points the CLI at it. */
export async function startTestHub(): Promise<{
  hub: Hub;
  env: Record<string, string>;
  post(events: object | object[]): Promise<void>;
}> {
  const hub = await createHub({
    port: 0,
    mqttPort: 0,
    db: ":memory:",
    logger: false,
    apiKeys: `acme:${KEY}`,
  });
  return {
    hub,
    env: { CHORUS_URL: hub.url, CHORUS_API_KEY: KEY },
    /** Publish straight over HTTP, independent of the CLI under test. */
    async post(events) {
      const body = Array.isArray(events) ? { events } : events;
      const res = await fetch(`${hub.url}/v1/events`, {
        method: "POST",
        headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      if (res.status !== 202) throw new Error(`post failed: ${res.status} ${await res.text()}`);
    },
  };
}

/** A port nothing listens on: bound, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Every stdout line parsed as JSON: throws on the first line that is not. */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
