import { nowMs } from "./clock.js";
import { serve } from "./ipc.js";

/*
 * An idle process whose only work is a 1 ms timer. How late the timer fires is how long a
 * runnable process waited for a core (every core busy, or the virtual machine not running),
 * a delay that every path's latency measured at the same time includes, whatever the broker.
 */

/** A timer more than this late counts as a stall of the machine. */
const STALL_MS = 5;

/** Stalls as [start, length ms] on the shared monotonic clock, oldest first. */
const stalls: [number, number][] = [];
let last = nowMs();
setInterval(() => {
  const now = nowMs();
  const late = now - last - 1;
  if (late > STALL_MS) stalls.push([last, late]);
  if (stalls.length > 100_000) stalls.splice(0, 50_000);
  last = now;
}, 1);

serve(async (message) => {
  switch (message.op) {
    case "stalls": {
      const from = message.from as number;
      const to = message.to as number;
      let count = 0;
      let longest = 0;
      for (const [at, ms] of stalls) {
        if (at < from || at >= to) continue;
        count++;
        longest = Math.max(longest, ms);
      }
      return { count, longest };
    }
    case "exit":
      setImmediate(() => process.exit(0));
      return {};
    default:
      throw new Error(`unknown op ${message.op}`);
  }
});
