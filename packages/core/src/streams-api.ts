import type { StreamDeps, StreamFilters } from "./stream.js";
import { type EventStream, openStream } from "./stream-front.js";
import { loadSchemas, type Schemas, schemasNow } from "./platform.js";
import { invalidArgument, parseOrThrow } from "./validate.js";

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
    return this.#start(
      (s) =>
        `/v1/channels/${encodeURIComponent(parseOrThrow(s.nameSchema, name, "channel"))}/stream`,
      filters,
    );
  }

  /** One intent's log (`types` narrows it). */
  intent(id: string, filters: Omit<StreamFilters, "intentId"> = {}): EventStream {
    return this.#start(
      (s) => `/v1/intents/${encodeURIComponent(parseOrThrow(s.idSchema, id, "id"))}/stream`,
      filters,
    );
  }

  /** Everything on intents assigned to an agent, and its assignments. */
  agent(name: string, filters: StreamFilters = {}): EventStream {
    return this.#start(
      (s) => `/v1/agents/${encodeURIComponent(parseOrThrow(s.nameSchema, name, "agent"))}/stream`,
      filters,
    );
  }

  /** Every intent in a portfolio. */
  portfolio(id: string, filters: StreamFilters = {}): EventStream {
    return this.#start(
      (s) => `/v1/portfolios/${encodeURIComponent(parseOrThrow(s.idSchema, id, "id"))}/stream`,
      filters,
    );
  }

  /** Close every stream this client opened. */
  closeAll(): void {
    for (const stream of [...this.#open]) stream.close();
  }

  /**
   * Arguments are checked with the protocol's schemas: at once (a `ValidationError` is thrown
   * here) when they are loaded, which in Node is always. A page that opens a stream before its
   * first validation loads them with the SSE client, and a refusal then ends the stream's
   * iteration with that `ValidationError`, as a refusal by the hub would.
   */
  #start(path: (s: Schemas) => string, filters: StreamFilters): EventStream {
    const { after, epoch, types, ...rest } = filters;
    if (epoch !== undefined && typeof epoch !== "string") {
      throw invalidArgument("epoch", "must be the store epoch a cursor was read under (a string)");
    }
    const query: Record<string, string | undefined> = { ...rest };
    if (types !== undefined) query.types = typeof types === "string" ? types : types.join(",");
    const check = (s: Schemas): { url: string; after: number | undefined } => {
      const checked = path(s);
      const parsed = parseOrThrow(s.streamQuerySchema, dropUndefined({ ...query, after }));
      return { url: this.#deps.http.url(checked, dropUndefined(query)), after: parsed.after };
    };
    const schemas = schemasNow();
    const now = schemas && check(schemas);
    const stream = openStream(this.#deps, {
      url: now ? now.url : () => loadSchemas().then((s) => check(s).url),
      after: now ? now.after : after,
      epoch,
      onClose: () => this.#open.delete(stream),
    });
    this.#open.add(stream);
    return stream;
  }
}

function dropUndefined<T extends Record<string, unknown>>(value: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = v;
  return out as T;
}
