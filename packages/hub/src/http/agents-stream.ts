import {
  formatSseComment,
  formatSseMessage,
  formatSseRetry,
  INTENT_CHANNEL,
  IntentEventTypes,
  SSE_AGENTS_EVENT,
  SSE_RETRY_MS,
} from "@chorus/protocol";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { HubContext } from "../context.js";
import type { Frame } from "../delivery/frame.js";
import type { Outbox } from "../delivery/outbox.js";
import { openSseResponse, responseGone } from "./sse.js";

/** Intent log events that change which agents hold which intents. */
const HOLD_CHANGES: ReadonlySet<string> = new Set([
  IntentEventTypes.Created,
  IntentEventTypes.StatusChanged,
  IntentEventTypes.Assigned,
  IntentEventTypes.Unassigned,
]);

export interface AgentFeedsOptions {
  /** The body of `GET /v1/agents` for an org. */
  read(org: string): Promise<unknown>;
  /** What of a body counts as a change (an online agent's `lastSeenAt` is "now": it does not). */
  changeKey(body: unknown): string;
  pingIntervalMs: number;
}

/**
 * `GET /v1/agents` as an event stream (`Accept: text/event-stream`): the same body as the JSON
 * answer, as one {@link SSE_AGENTS_EVENT} message when the stream opens and another whenever it
 * changes. One feed per org, however many watch it: a change is read once and the same bytes go
 * to every watcher, and only when they differ from what was last sent.
 *
 * When to look again: at once when an agent stream opens or closes on this hub or on another
 * hub of a shared store (the store's notification, see `Presence.watch`), and when the org's
 * intent log says an assignment or status changed (on any hub: the log reaches every hub's
 * tail); at every presence renewal (a third of the lease) for leases that ran out and for a
 * notification lost while a hub's listening connection was down.
 */
export class AgentFeeds {
  readonly #ctx: HubContext;
  readonly #options: AgentFeedsOptions;
  readonly #feeds = new Map<string, AgentFeed>();

  constructor(ctx: HubContext, options: AgentFeedsOptions) {
    this.#ctx = ctx;
    this.#options = options;
  }

  /** Stream `org`'s agents to this request until the client leaves or the hub shuts down. */
  open(request: FastifyRequest, reply: FastifyReply, org: string, keyId: string): void {
    const ctx = this.#ctx;
    const { res, release } = openSseResponse(ctx, request, reply, keyId);
    let feed = this.#feeds.get(org);
    if (!feed) {
      feed = new AgentFeed(ctx, org, this.#options, () => this.#feeds.delete(org));
      this.#feeds.set(org, feed);
    }
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      clearInterval(ping);
      ctx.closing.removeEventListener("abort", close);
      unaccount();
      watcher.outbox.close();
      feed.leave(watcher);
      release();
      ctx.metrics.sseConnections.dec();
      if (!res.writableEnded) res.end();
    };
    const watcher: Watcher = {
      outbox: ctx.delivery.outbox(res.socket ?? res, "sse", () => {
        close();
        res.destroy();
      }),
    };
    // Counted with the other connections' buffers in the hub's memory metrics.
    const unaccount = ctx.delivery.account({
      kind: "sse",
      get bufferedBytes() {
        return watcher.outbox.buffered;
      },
    });
    ctx.metrics.sseConnections.inc();
    res.on("close", close);
    ctx.closing.addEventListener("abort", close, { once: true });
    const ping = setInterval(() => {
      if (watcher.outbox.buffered === 0) watcher.outbox.push(Buffer.from(formatSseComment("ping")));
    }, this.#options.pingIntervalMs);
    ping.unref();
    watcher.outbox.push(Buffer.from(formatSseRetry(SSE_RETRY_MS)));
    if (ctx.closing.aborted || responseGone(res)) close();
    else feed.join(watcher);
  }
}

interface Watcher {
  readonly outbox: Outbox;
}

/** One org's agents, read when they may have changed and sent to its watchers when they did. */
class AgentFeed {
  readonly #ctx: HubContext;
  readonly #org: string;
  readonly #options: AgentFeedsOptions;
  readonly #watchers = new Set<Watcher>();
  readonly #cleanups: (() => void)[] = [];
  /** The last message sent, for a new watcher, and its change key, to skip unchanged reads. */
  #last: Buffer | undefined;
  #lastKey: string | undefined;
  #reading = false;
  #again = false;

  constructor(ctx: HubContext, org: string, options: AgentFeedsOptions, onEmpty: () => void) {
    this.#ctx = ctx;
    this.#org = org;
    this.#options = options;
    const refresh = () => this.#refresh();
    this.#cleanups.push(
      ctx.presence.watch(org, refresh),
      ctx.delivery.sse.add({
        org,
        filter: { channel: INTENT_CHANNEL },
        offer: (frame: Frame) => {
          if (HOLD_CHANGES.has(frame.event.type)) refresh();
        },
      }),
      onEmpty,
    );
  }

  join(watcher: Watcher): void {
    this.#watchers.add(watcher);
    if (this.#last) watcher.outbox.push(this.#last);
    // Read anyway: what was last sent may be up to a renewal old.
    this.#refresh();
  }

  leave(watcher: Watcher): void {
    if (!this.#watchers.delete(watcher) || this.#watchers.size > 0) return;
    for (const cleanup of this.#cleanups.splice(0)) cleanup();
  }

  #refresh(): void {
    if (this.#reading) {
      this.#again = true;
      return;
    }
    this.#reading = true;
    void this.#readUntilSettled().finally(() => {
      this.#reading = false;
    });
  }

  async #readUntilSettled(): Promise<void> {
    do {
      this.#again = false;
      let body: unknown;
      try {
        body = await this.#options.read(this.#org);
      } catch (error) {
        // The store is away: keep what watchers have; the next change or renewal reads again.
        this.#ctx.logger.warn("reading agents for a stream failed", { error: String(error) });
        return;
      }
      const key = this.#options.changeKey(body);
      if (key === this.#lastKey) continue;
      const message = Buffer.from(
        formatSseMessage({ event: SSE_AGENTS_EVENT, data: JSON.stringify(body) }),
      );
      this.#last = message;
      this.#lastKey = key;
      for (const watcher of this.#watchers) watcher.outbox.push(message);
    } while (this.#again && this.#watchers.size > 0);
  }
}
