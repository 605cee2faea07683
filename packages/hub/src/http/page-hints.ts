import { type Page, retentionGap } from "@chorus/protocol";
import type { FastifyReply } from "fastify";
import type { HubContext } from "../context.js";
import type { EventJson } from "../store/types.js";

/**
 * What a page of stored events tells a reader about its cursor, beside the events: the store's
 * `epoch`; `oldest`, when retention deleted events past `after`; and `ahead`, when `after` lies
 * beyond the newest seq the store holds (a store restored from a backup keeps its epoch; a
 * made-up cursor): the page is empty and the store will number new events at or below the
 * cursor, so a reader paging on would skip them. The store is asked only for an empty page past
 * what this hub's tail has seen (another hub may have committed more), as streams do.
 */
async function pageOf<T>(
  ctx: HubContext,
  page: Page<T>,
  after: number | undefined,
): Promise<Page<T>> {
  const out: Page<T> = { ...page, epoch: ctx.store.epoch };
  const oldest = retentionGap(after, ctx.retained.oldest);
  if (oldest !== undefined) out.oldest = oldest;
  if (
    after !== undefined &&
    page.data.length === 0 &&
    after > ctx.delivery.tail.newest &&
    after > (await ctx.store.maxSeq())
  )
    out.ahead = after;
  return out;
}

/**
 * Answer with a page of events given as their stored JSON ({@link pageOf}'s body, the same
 * text): the events are written as the store holds them, with no parse and no serialization of
 * their payloads, whose cost grows with their size.
 */
export async function sendEventPage(
  ctx: HubContext,
  reply: FastifyReply,
  page: Page<EventJson>,
  after: number | undefined,
): Promise<FastifyReply> {
  const { data, ...hints } = await pageOf(ctx, page, after);
  const rest = JSON.stringify(hints);
  const events = data.map((event) => event.json).join(",");
  return reply
    .type("application/json; charset=utf-8")
    .send(`{"data":[${events}]${rest === "{}" ? "}" : `,${rest.slice(1)}`}`);
}
