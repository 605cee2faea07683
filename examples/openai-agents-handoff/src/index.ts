// A triage agent hands a customer question to one of two specialists, observed by Chorus.
// Offline by default (scripted models); with OPENAI_API_KEY set, the same agents call OpenAI.
import { printEvents, readChannel, runExample } from "@chorus-examples/shared";
import { instrument } from "@chorus/openai-agents";
import { Agent, handoff, type Model, Runner, tool, Usage } from "@openai/agents";
import { assistantMessage, functionCall, ScriptedModel } from "@openai/agents-core/testing";
import { z } from "zod";

const question =
  process.argv.slice(2).join(" ") || "I was charged twice for invoice INV-1042, can you fix it?";
const online = Boolean(process.env.OPENAI_API_KEY);
const realModel = process.env.OPENAI_MODEL || "gpt-4.1-mini";

const lookupInvoice = tool({
  name: "lookup_invoice",
  description: "Look up an invoice and its payments",
  parameters: z.object({ invoiceId: z.string() }),
  execute: async ({ invoiceId }) => ({
    invoiceId,
    amount: 49,
    currency: "EUR",
    payments: 2,
    status: "double-charged",
  }),
});
const checkStatus = tool({
  name: "check_service_status",
  description: "Current status of a service",
  parameters: z.object({ service: z.string() }),
  execute: async ({ service }) => ({ service, status: "degraded", since: "09:40 UTC" }),
});

/** Offline: a scripted model per agent, playing the conversation a real model would have. */
const usage = (input: number, output: number) =>
  new Usage({ requests: 1, inputTokens: input, outputTokens: output, totalTokens: input + output });
const billingScript = () =>
  new ScriptedModel([
    {
      output: [
        functionCall("lookup_invoice", { invoiceId: "INV-1042" }, { callId: "call_invoice" }),
      ],
      usage: usage(180, 22),
    },
    {
      output: [
        assistantMessage(
          "INV-1042 was paid twice (2 × 49 EUR). I have refunded the duplicate; it will reach you in 3-5 days.",
        ),
      ],
      usage: usage(260, 31),
    },
  ]);
const techScript = () =>
  new ScriptedModel([
    {
      output: [functionCall("check_service_status", { service: "api" }, { callId: "call_status" })],
      usage: usage(170, 18),
    },
    {
      output: [
        assistantMessage(
          "The API has been degraded since 09:40 UTC; engineers are on it. Retrying in a few minutes should work.",
        ),
      ],
      usage: usage(240, 29),
    },
  ]);
const model = (scripted: () => Model): string | Model => (online ? realModel : scripted());

const billing = new Agent({
  name: "Billing",
  instructions: "You resolve billing questions. Look up the invoice before answering. Be brief.",
  handoffDescription: "Invoices, charges, refunds",
  model: model(billingScript),
  tools: [lookupInvoice],
});
const tech = new Agent({
  name: "Tech support",
  instructions:
    "You resolve technical problems. Check the service status before answering. Be brief.",
  handoffDescription: "Outages, errors, bugs",
  model: model(techScript),
  tools: [checkStatus],
});
const toBilling = handoff(billing);
const toTech = handoff(tech);
const isBilling = /invoice|charge|refund|bill|pay/i.test(question);
const triage = new Agent({
  name: "Triage",
  instructions: "Hand the customer to the right specialist. Never answer yourself.",
  model: model(
    () =>
      new ScriptedModel([
        {
          output: [
            functionCall((isBilling ? toBilling : toTech).toolName, {}, { callId: "call_handoff" }),
          ],
          usage: usage(120, 9),
        },
      ]),
  ),
  handoffs: [toBilling, toTech],
});

// Uses CHORUS_URL / CHORUS_API_KEY / CHORUS_CHANNEL when set; otherwise a hub embedded in this
// process, closed whatever happens: a failure is exit 1 with its cause, not a stack trace.
await runExample(
  { channel: "openai-agents-handoff", modelKeys: ["OPENAI_API_KEY"] },
  async (session) => {
    // One line: every run of this runner goes to Chorus. Offline, Chorus replaces the SDK's OpenAI
    // trace exporter (there is no key to export with); online, traces go to both.
    const runner = new Runner();
    const chorus = instrument({ chorus: session.chorus, hooks: runner, exclusive: !online });

    console.log(
      `${online ? `OpenAI (${realModel})` : "scripted models (set OPENAI_API_KEY for the real API)"}: "${question}"`,
    );
    // The run joins this Chorus trace, so we know which events are ours.
    const traceId = await session.chorus.withTrace(async () => {
      const result = await runner.run(triage, question);
      console.log(`\n${result.lastAgent?.name}: ${result.finalOutput}`);
      return session.chorus.currentTrace()?.traceId;
    });

    await chorus.forceFlush();
    const events = await readChannel(session.chorus, session.channel, { traceId });
    printEvents(events);
    for (const e of events.filter((e) => e.type === "agent.handoff"))
      console.log(`\nhandoff: ${e.payload.from} -> ${e.payload.to}`);
    const runUsage = events.filter((e) => e.type === "agent.end" && e.payload.usage).at(-1)
      ?.payload.usage;
    if (runUsage) console.log(`usage of the run: ${JSON.stringify(runUsage)}`);
    chorus.uninstrument();
  },
);
