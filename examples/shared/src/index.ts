import { consoleAssetsDir, consoleLink } from "@chorus/console";
import { Chorus, type ChorusOptions } from "@chorus/core";
import { createHub, type Hub } from "@chorus/hub";
import type { ChorusEvent } from "@chorus/protocol";

/*
 * What every example needs and nothing more: a Chorus client pointed at CHORUS_URL (with
 * CHORUS_API_KEY and CHORUS_CHANNEL), or, when CHORUS_URL is unset, at a hub embedded in this
 * process on a free port; and a way to print what the run produced.
 */

export interface ExampleSession {
  chorus: Chorus;
  /** The embedded hub, when CHORUS_URL was unset. */
  hub: Hub | undefined;
  url: string;
  apiKey: string | undefined;
  channel: string;
  /** The link a person clicks to watch this session's channel in the hub's web console. */
  consoleLink: string;
  /** Flush and close the client, then the embedded hub. */
  close(): Promise<void>;
}

export async function startExample(options: {
  channel: string;
  clientOptions?: ChorusOptions;
}): Promise<ExampleSession> {
  const channel = process.env.CHORUS_CHANNEL || options.channel;
  let hub: Hub | undefined;
  let url = process.env.CHORUS_URL;
  let apiKey = process.env.CHORUS_API_KEY;
  if (!url) {
    hub = await createHub({
      port: 0,
      mqttPort: 0,
      db: ":memory:",
      logger: false,
      apiKeys: [],
      consoleDir: consoleAssetsDir,
    });
    url = hub.url;
    apiKey = hub.devKey;
    console.log(`(embedded hub at ${url}; set CHORUS_URL to use your own)`);
  }
  const chorus = new Chorus({ url, apiKey, channel, ...options.clientOptions });
  return {
    chorus,
    hub,
    url,
    apiKey,
    channel,
    consoleLink: consoleLink(url, { key: apiKey, channel }),
    async close() {
      await chorus.close(5_000);
      await hub?.close();
    },
  };
}

/** `--keep` or `CHORUS_KEEP=1`: the example leaves its hub running for the console. */
export function keepRequested(argv: readonly string[] = process.argv): boolean {
  return argv.includes("--keep") || process.env.CHORUS_KEEP === "1";
}

/** Resolves on Ctrl+C (SIGINT) or SIGTERM. */
export function untilStopped(): Promise<void> {
  return new Promise((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
}

/** Every event matching the filter, oldest first (follows the list cursor). */
export async function readEvents(
  chorus: Chorus,
  filter: { channel?: string; traceId?: string; intentId?: string; after?: number },
): Promise<ChorusEvent[]> {
  const all: ChorusEvent[] = [];
  let after = filter.after;
  for (;;) {
    const page = await chorus.events.list({ ...filter, after, limit: 1000 });
    if (!page) break;
    all.push(...page.data);
    if (page.next === undefined) break;
    after = page.next;
  }
  return all;
}

/** Every event on a channel after `after`, oldest first. */
export function readChannel(
  chorus: Chorus,
  channel: string,
  filter: { traceId?: string; intentId?: string; after?: number } = {},
): Promise<ChorusEvent[]> {
  return readEvents(chorus, { ...filter, channel });
}

/** One line per event: seq, type, agent, and the most telling payload field. */
export function formatEvent(e: ChorusEvent): string {
  const p = e.payload as Record<string, unknown>;
  const detail =
    (p.name as string | undefined) ??
    (p.tool as string | undefined) ??
    (p.model as string | undefined) ??
    (typeof p.text === "string" ? JSON.stringify(p.text.slice(0, 60)) : "");
  const span = e.parentSpanId ? `${e.spanId ?? ""}<-${e.parentSpanId}` : (e.spanId ?? "");
  return `${String(e.seq).padStart(5)}  ${e.type.padEnd(16)} ${(e.agent ?? "-").padEnd(12)} ${detail}  ${span}`;
}

export function printEvents(events: readonly ChorusEvent[]): void {
  console.log(`\n${events.length} events:`);
  for (const e of events) console.log(formatEvent(e));
}

/** The error an SDK wraps around the one that says what happened, followed one level at a time. */
function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = error;
  // Bounded: a cause chain can loop.
  for (let depth = 0; depth < 6 && current !== undefined && current !== null; depth++) {
    chain.push(current);
    const next =
      (current as { lastError?: unknown }).lastError ?? (current as { cause?: unknown }).cause;
    current = next === current ? undefined : next;
  }
  return chain;
}

/**
 * A failure as one or two lines a person can act on, without a stack trace: the error's name and
 * message, what caused it (`getaddrinfo ENOTFOUND api.openai.com`), and, when a model API key is
 * set, that the real API is in use and unsetting the key runs offline.
 */
export function describeFailure(
  error: unknown,
  modelKeys: readonly string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): string {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const link of causes(error)) {
    const text =
      link instanceof Error ? `${link.name}: ${link.message}` : String(link).slice(0, 500);
    if (!seen.has(text)) lines.push(text);
    seen.add(text);
  }
  const keys = modelKeys.filter((k) => env[k]);
  if (keys.length > 0)
    lines.push(
      `(${keys.join(" and ")} ${keys.length > 1 ? "are" : "is"} set, so the real API was called: check the key and the network, or unset it to run offline)`,
    );
  return lines.join("\n  ");
}

/**
 * Run an example: start its session, run `body`, and whatever happens close the client and the
 * embedded hub, so a failed run ends (exit 1, the failure in a few lines on stderr) instead of
 * staying alive on the hub's open port.
 */
export async function runExample(
  options: Parameters<typeof startExample>[0] & {
    /** The variables that switch this example to a real model API (named in a failure's hint). */
    modelKeys?: readonly string[];
  },
  body: (session: ExampleSession) => Promise<void>,
): Promise<void> {
  let session: ExampleSession | undefined;
  try {
    session = await startExample({
      channel: options.channel,
      ...(options.clientOptions ? { clientOptions: options.clientOptions } : {}),
    });
    await body(session);
  } catch (error) {
    console.error(`\n${options.channel} failed: ${describeFailure(error, options.modelKeys)}`);
    process.exitCode = 1;
  } finally {
    await session?.close();
  }
}
