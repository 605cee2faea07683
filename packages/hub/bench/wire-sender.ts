import { createServer, type Socket } from "node:net";
import { serve } from "./ipc.js";

/*
 * The bytes of fan-out alone, without a hub: a process that writes given frames to every
 * connection it accepted, one write per connection per batch of events (as the hub's outboxes
 * do), the receivers' process reading them. Its CPU per event is what any one-thread hub must
 * spend on top of ingest to hand the same bytes to the kernel, whatever its own code costs.
 */

const sockets: Socket[] = [];
const server = createServer((socket) => {
  socket.on("error", () => {});
  sockets.push(socket);
});

function drained(): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (sockets.length > 0 && sockets.every((s) => s.writableLength === 0)) resolve();
      else setTimeout(check, 1);
    };
    check();
  });
}

serve(async (m) => {
  switch (m.op) {
    case "listen": {
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const address = server.address();
      return { port: typeof address === "object" && address ? address.port : 0 };
    }
    case "blast": {
      // `frames[i]` bytes per event for the i-th connection, in batches of `batch` events.
      const frames = m.frames as number[];
      for (let waited = 0; sockets.length < frames.length; waited++) {
        if (waited > 5_000)
          throw new Error(`${sockets.length} connections, ${frames.length} frame sizes`);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      const events = m.events as number;
      const batch = m.batch as number;
      const bySize = new Map<number, Buffer>();
      for (const size of frames)
        if (!bySize.has(size)) bySize.set(size, Buffer.alloc(size * batch, 120));
      const cpu0 = process.cpuUsage();
      const start = performance.now();
      for (let sent = 0; sent < events; sent += batch) {
        for (const [i, socket] of sockets.entries())
          socket.write(bySize.get(frames[i] as number) as Buffer);
        await new Promise((resolve) => setImmediate(resolve));
      }
      await drained();
      const cpu = process.cpuUsage(cpu0);
      return { ms: performance.now() - start, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
    }
    case "reset": {
      for (const s of sockets.splice(0)) s.destroy();
      return {};
    }
    case "exit": {
      setImmediate(() => process.exit(0));
      return {};
    }
    default:
      throw new Error(`unknown op ${m.op}`);
  }
});
