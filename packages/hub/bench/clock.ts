/**
 * Milliseconds on the system's monotonic clock. `process.hrtime` reads CLOCK_MONOTONIC, which
 * every process on the machine shares, so a send time stamped by the publisher and an arrival
 * time read by a receiver in another process subtract to a real latency.
 */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Poll until `check` holds or `ms` passes; false when it never held. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  ms: number,
): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(20);
  }
  return check();
}
