// Emit a few events in one trace, read them back, and show how to watch them live.
import { printEvents, readChannel, startExample } from "@chorus-examples/shared";

// Uses CHORUS_URL / CHORUS_API_KEY when set; otherwise a hub embedded in this process.
const { chorus, channel, hub, close } = await startExample({ channel: "quickstart" });
const tail = `pnpm chorus tail --channel ${channel}`;
console.log(
  hub
    ? `This embedded hub stops when the script ends. To watch live, from the repo root:
  pnpm hub    # terminal 1: prints an export line; paste it in terminals 2 and 3
  ${tail}    # terminal 2
  pnpm --filter @chorus-examples/quickstart start    # terminal 3: this script again`
    : `Watch live in another terminal: ${tail}`,
);

const say = (type: string, payload: Record<string, unknown>) =>
  chorus.emit({ type, agent: "greeter", payload });
const traceId = chorus.withTrace(() => {
  say("agent.start", { name: "greeter" });
  say("tool.start", { name: "lookup", callId: "c1", arguments: { who: "world" } });
  say("tool.end", { name: "lookup", callId: "c1", result: "World" });
  say("agent.message", { role: "assistant", text: "Hello, World!" });
  say("agent.end", { name: "greeter" });
  return chorus.currentTrace()?.traceId;
});

await chorus.flush(); // emit() only queues; flush waits until the hub has stored them
printEvents(await readChannel(chorus, channel, { traceId }));
await close();
