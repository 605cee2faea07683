import type { ChorusEvent, EventQuery, Page, PublishResult } from "@chorus/protocol";
import { MAX_BATCH_EVENTS } from "@chorus/protocol/wire";
import { answer } from "./answer-shape.js";
import { ValidationError } from "./errors.js";
import type { BuildResult, EmitEvent } from "./event-builder.js";
import { failOpen, type FailOpenPolicy } from "./fail-open.js";
import type { Transport } from "./transport.js";
import { invalidArgument, parseOrThrow, schemas } from "./validate.js";

/**
 * What the awaited APIs use of the client. Ids and the agent come from here, not from their
 * modules, so that the chunk a page loads them in (with the schemas) shares less with the entry.
 */
export interface ApiContext {
  transport: Transport;
  policy: FailOpenPolicy;
  build: (input: unknown) => BuildResult;
  /** A new event id. */
  newId: () => string;
  /** The agent of the current trace context, else the client's `agent`. */
  agent: () => string | undefined;
}

/**
 * Awaited, strict event calls, next to the fire-and-forget `chorus.emit()`.
 *
 * Fail-open answers (availability failures with `failOpen: true`): `publish` resolves
 * `undefined`, `list` resolves an empty page `{ data: [] }`.
 */
export class EventsApi {
  readonly #ctx: ApiContext;

  constructor(ctx: ApiContext) {
    this.#ctx = ctx;
  }

  /**
   * Publish now, bypassing the queue, and wait for the hub. Unlike `emit()` it throws a
   * `ValidationError` naming the field when an event is invalid. Stamping, defaults, trace
   * context and content capture are the same as `emit()`'s. Retries are safe: ids deduplicate.
   *
   * @example
   * const result = await chorus.events.publish({ type: "custom", payload: { ok: true } });
   * // result: { accepted: 1, duplicates: 0, ids: ["0192…"] }, or undefined if the hub is down
   */
  async publish(events: EmitEvent | readonly EmitEvent[]): Promise<PublishResult | undefined> {
    const list = Array.isArray(events) ? (events as readonly EmitEvent[]) : [events as EmitEvent];
    if (list.length === 0) throw invalidArgument("events", "at least one event is required");
    if (list.length > MAX_BATCH_EVENTS)
      throw invalidArgument("events", `at most ${MAX_BATCH_EVENTS} events per call`);
    await schemas(); // so that build() validates now (a page loads them on first use)
    const jsons = list.map((input, index) => {
      const built = this.#ctx.build(input);
      if (built.ok) return built.value.json;
      const { error } = built;
      if (list.length > 1 && error instanceof ValidationError) {
        const field =
          error.field === undefined ? `events.${index}` : `events.${index}.${error.field}`;
        throw new ValidationError(`events.${index}: ${error.message}`, {
          field,
          details: error.details,
        });
      }
      throw error;
    });
    const body = jsons.length === 1 ? (jsons[0] as string) : `{"events":[${jsons.join(",")}]}`;
    return failOpen(this.#ctx.policy, "events.publish", undefined, async () => {
      const response = await this.#ctx.transport.call(
        { method: "POST", path: "/v1/events", rawJson: body },
        { idempotent: true },
      );
      return answer<PublishResult>(response, "published", "events.publish");
    });
  }

  /**
   * One page of stored events, oldest first. Pass `page.next` as `after` for the next page.
   * `page.epoch` names the hub store the seqs count in: keep it with a cursor you store, and
   * open a stream from that cursor with `{ after, epoch }`. `page.oldest`, when present, is the
   * lowest seq the hub still holds: its retention deleted the events between `after` and it.
   *
   * @example
   * const { data, next, epoch } = await chorus.events.list({ channel: "research", limit: 100 });
   */
  async list(query: EventQuery = {}): Promise<Page<ChorusEvent>> {
    const parsed = parseOrThrow((await schemas()).eventQuerySchema, query);
    return failOpen(this.#ctx.policy, "events.list", { data: [] }, async () => {
      const response = await this.#ctx.transport.call(
        { method: "GET", path: "/v1/events", query: parsed },
        { idempotent: true },
      );
      return answer<Page<ChorusEvent>>(response, "page", "events.list");
    });
  }
}
