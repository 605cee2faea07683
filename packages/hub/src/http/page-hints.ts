import { type Page, retentionGap } from "@chorus/protocol";
import type { HubContext } from "../context.js";

/**
 * What a page of stored events tells a reader about its cursor, beside the events: the store's
 * `epoch`; `oldest`, when retention deleted events past `after`; and `ahead`, when `after` lies
 * beyond the newest seq the store holds (a store restored from a backup keeps its epoch; a
 * made-up cursor): the page is empty and the store will number new events at or below the
 * cursor, so a reader paging on would skip them. The store is asked only for an empty page past
 * what this hub's tail has seen (another hub may have committed more), as streams do.
 */
export async function pageOf<T>(
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
