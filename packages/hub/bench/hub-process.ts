import { monitorEventLoopDelay } from "node:perf_hooks";
import { createHub, type Hub, type HubOptions } from "../src/index.js";
import { serve } from "./ipc.js";

/*
 * A hub in its own process, as it runs in production: the bench measures its memory from
 * outside and bills it the CPU of delivery. Options arrive as JSON in BENCH_HUB_OPTIONS.
 */
let hub: Hub | undefined;
/**
 * How late the hub's event loop ran, at 1 ms resolution, since the last `loop` request. Its
 * timer runs from the first request on, so scenarios that do not ask do not pay for it.
 */
const loop = monitorEventLoopDelay({ resolution: 1 });

serve(async (message) => {
  switch (message.op) {
    case "start": {
      hub = await createHub(message.options as HubOptions);
      return { url: hub.url, mqttUrl: hub.mqttUrl, httpPort: hub.httpPort };
    }
    case "loop": {
      loop.enable(); // a no-op once enabled
      const delay = { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 };
      loop.reset();
      return delay;
    }
    case "memory": {
      const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
      return { rss, heapUsed, external, arrayBuffers };
    }
    case "exit": {
      await hub?.close();
      // Exit after the answer is sent, so a --cpu-prof profile is written on a normal exit.
      setImmediate(() => process.exit(0));
      return {};
    }
    default:
      throw new Error(`unknown op ${message.op}`);
  }
});
