import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthFailureThrottle } from "../src/auth-throttle.js";
import type { Hub } from "../src/index.js";
import { api, KEY_A, startTestHub } from "./helpers.js";

describe("AuthFailureThrottle", () => {
  it("blocks an address past the limit until its window ends, others untouched", () => {
    const throttle = new AuthFailureThrottle({ max: 3, windowMs: 1000 });
    for (let i = 0; i < 3; i++) {
      expect(throttle.blockedFor("1.2.3.4", 0)).toBeUndefined();
      throttle.fail("1.2.3.4", 0);
    }
    expect(throttle.blockedFor("1.2.3.4", 400)).toBe(600);
    expect(throttle.blockedFor("5.6.7.8", 400)).toBeUndefined();
    expect(throttle.blockedFor("1.2.3.4", 1000)).toBeUndefined(); // window over
  });
});

describe("failed authentication from one address", () => {
  let hub: Hub;
  beforeAll(async () => {
    hub = await startTestHub({ authFailureLimit: "3/m" });
  });
  afterAll(async () => {
    await hub.close();
  });

  it("is refused with 429 past the limit, even with the right key, over HTTP and MQTT", async () => {
    for (let i = 0; i < 3; i++) {
      expect((await api(hub, "/v1/events", { key: `wrong_key_${i}_0123456789` })).status).toBe(401);
    }
    // The right key no longer helps: a guess that hits must not get in while blocked.
    const blocked = await api(hub, "/v1/events", { key: KEY_A });
    expect(blocked.status).toBe(429);
    expect(blocked.body.error.code).toBe("rate_limited");
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
    // Keyless routes still answer, and the broker refuses this address too.
    expect((await api(hub, "/healthz", { key: null })).status).toBe(200);
    await expect(
      mqtt.connectAsync(hub.mqttUrl!, { username: "any", password: KEY_A, reconnectPeriod: 0 }),
    ).rejects.toThrow(/Not authorized|Connection refused/i);
  });
});
