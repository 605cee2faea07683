import { idSchema, nameSchema, type StreamQuery, streamQuerySchema } from "@chorus/protocol";
import { EventStream, type StreamDeps, type StreamFilters } from "./stream.js";
import { parseOrThrow } from "./validate.js";

/** `chorus.stream`: the hub's four SSE endpoints. */
export class StreamsApi {
  readonly #deps: StreamDeps;
  /** Open streams, closed with the client. Closed streams remove themselves. */
  readonly #open = new Set<EventStream>();

  constructor(deps: StreamDeps) {
    this.#deps = deps;
  }

  /** Events of one channel, filtered. */
  channel(name: string, filters: StreamFilters = {}): EventStream {
    const channel = parseOrThrow(nameSchema, name, "channel");
    return this.#start(`/v1/channels/${encodeURIComponent(channel)}/stream`, filters);
  }

  /** One intent's log (`types` narrows it). */
  intent(id: string, filters: Omit<StreamFilters, "intentId"> = {}): EventStream {
    const intentId = parseOrThrow(idSchema, id, "id");
    return this.#start(`/v1/intents/${encodeURIComponent(intentId)}/stream`, filters);
  }

  /** Everything on intents assigned to an agent, and its assignments. */
  agent(name: string, filters: StreamFilters = {}): EventStream {
    const agent = parseOrThrow(nameSchema, name, "agent");
    return this.#start(`/v1/agents/${encodeURIComponent(agent)}/stream`, filters);
  }

  /** Every intent in a portfolio. */
  portfolio(id: string, filters: StreamFilters = {}): EventStream {
    const portfolio = parseOrThrow(idSchema, id, "id");
    return this.#start(`/v1/portfolios/${encodeURIComponent(portfolio)}/stream`, filters);
  }

  /** Close every stream this client opened. */
  closeAll(): void {
    for (const stream of [...this.#open]) stream.close();
  }

  #start(path: string, filters: StreamFilters): EventStream {
    const { after, types, ...rest } = filters;
    const query: Record<string, string | undefined> = { ...rest };
    if (types !== undefined) query.types = typeof types === "string" ? types : types.join(",");
    const parsed = parseOrThrow(streamQuerySchema, dropUndefined({ ...query, after }));
    const url = this.#deps.http.url(path, dropUndefined(query));
    const stream = new EventStream(this.#deps, url, (parsed as StreamQuery).after, () =>
      this.#open.delete(stream),
    );
    this.#open.add(stream);
    return stream;
  }
}

function dropUndefined<T extends Record<string, unknown>>(value: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = v;
  return out as T;
}
