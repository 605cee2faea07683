import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_AUTH_FAILURE_LIMIT } from "../src/config.js";
import { type Hub, parseTrustProxy } from "../src/index.js";
import { api, KEY_A, startTestHub } from "./helpers.js";
import { connectMqtt } from "./mqtt-helpers.js";

/** One more bad try than the default failed-auth limit allows, all "from" `client`. */
async function failFrom(hub: Hub, client: string): Promise<void> {
  for (let i = 0; i <= DEFAULT_AUTH_FAILURE_LIMIT.max; i++) {
    const res = await api(hub, "/v1/events", {
      key: `wrong_key_${i}_0123456789`,
      headers: { "x-forwarded-for": client },
    });
    expect([401, 429]).toContain(res.status);
  }
}

const asClient = (hub: Hub, client: string) =>
  api(hub, "/v1/events", { key: KEY_A, headers: { "x-forwarded-for": client } });

// 301 requests per test: slow on a busy machine, never timed.
describe("CHORUS_TRUST_PROXY and the failed-auth throttle", { timeout: 120_000 }, () => {
  let hub: Hub | undefined;
  afterEach(async () => {
    await hub?.close();
    hub = undefined;
  });

  it("behind a trusted proxy, one bad forwarded client does not lock out another", async () => {
    // The test's requests come from 127.0.0.1, which plays the reverse proxy.
    hub = await startTestHub({ trustProxy: "127.0.0.1" });
    await failFrom(hub, "203.0.113.7");
    expect((await asClient(hub, "203.0.113.7")).status).toBe(429);
    expect((await asClient(hub, "198.51.100.9")).status).toBe(200);
  });

  it("without trust, X-Forwarded-For is ignored: the socket's address is throttled", async () => {
    hub = await startTestHub();
    await failFrom(hub, "203.0.113.7");
    // A spoofed header does not get a fresh allowance.
    expect((await asClient(hub, "198.51.100.9")).status).toBe(429);
  });

  describe("over MQTT on WebSocket", () => {
    /** A CONNECT over ws://…/mqtt whose upgrade request carries `X-Forwarded-For: client`. */
    const connectWs = (target: Hub, client: string, key: string) =>
      connectMqtt(target.wsUrl, key, { wsOptions: { headers: { "x-forwarded-for": client } } });

    /** `limit` bad CONNECTs "from" `client`, each refused for its credentials. */
    async function failWsFrom(target: Hub, client: string, limit: number): Promise<void> {
      for (let i = 0; i < limit; i++) {
        await expect(connectWs(target, client, `wrong_key_${i}_0123456789`)).rejects.toThrow(
          /Bad username or password/i,
        );
      }
    }

    it("behind a trusted proxy, one bad forwarded client does not lock out another", async () => {
      hub = await startTestHub({ trustProxy: "127.0.0.1", authFailureLimit: "3/m" });
      await failWsFrom(hub, "203.0.113.7", 3);
      await expect(connectWs(hub, "203.0.113.7", KEY_A)).rejects.toThrow(/Not authorized/i);
      const good = await connectWs(hub, "198.51.100.9", KEY_A);
      await good.endAsync();
      // The forwarded address is the key on HTTP too: one throttle, one rule.
      expect((await asClient(hub, "203.0.113.7")).status).toBe(429);
      expect((await asClient(hub, "198.51.100.9")).status).toBe(200);
    });

    it("without trust, X-Forwarded-For is ignored: the socket's address is throttled", async () => {
      hub = await startTestHub({ authFailureLimit: "3/m" });
      await failWsFrom(hub, "203.0.113.7", 3);
      await expect(connectWs(hub, "198.51.100.9", KEY_A)).rejects.toThrow(/Not authorized/i);
    });
  });

  it("refuses entries that are not addresses, ranges or named ranges", () => {
    expect(parseTrustProxy(" 10.0.0.1, 10.1.0.0/16,loopback, ::1 ")).toEqual([
      "10.0.0.1",
      "10.1.0.0/16",
      "loopback",
      "::1",
    ]);
    expect(parseTrustProxy("")).toEqual([]);
    for (const bad of ["proxy.local", "10.0.0.0/33", "10.0.0.1/8/1", "*"]) {
      expect(() => parseTrustProxy(bad)).toThrow(/invalid trusted proxy/);
    }
  });
});
