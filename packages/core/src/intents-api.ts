import { answer, type Shape } from "./answer-shape.js";
import type {
  ChorusEvent,
  EventQuery,
  Intent,
  IntentCreate,
  IntentEventInput,
  IntentListQuery,
  IntentStatus,
  Page,
} from "@chorus/protocol";
import { AGENT_HEADER, IDEMPOTENCY_KEY_HEADER } from "@chorus/protocol/wire";
import { ValidationError } from "./errors.js";
import type { ApiContext } from "./events-api.js";
import { failOpen } from "./fail-open.js";
import type { HttpMethod } from "./http.js";
import type { Schemas } from "./platform.js";
import { invalidArgument, parseOrThrow, schemas } from "./validate.js";

/** A page of intents; `next` is the opaque cursor for `list({ after })`. */
export interface IntentPage {
  data: Intent[];
  next?: string;
}

/** `{ duplicate: true }` answers a retried post whose event id the log already holds. */
export type PostedIntentEvent = ChorusEvent | { id: string; duplicate: true };

/**
 * Options of every intent write. `actor` names the agent making the write: the hub records it as
 * the `agent` of the log event (sent as the `Chorus-Agent` header). It defaults to the agent of
 * the current trace context, then to the client's `agent` option.
 */
export interface WriteOptions {
  actor?: string;
}

/**
 * Options of a create, a state patch or a status change. `idempotencyKey` names the write (an id:
 * letters, digits, `-_.:`, at most 128; a UUID is one): send the same write again under the same
 * key (after an outage, from another process) and the hub answers it with the intent as it is
 * now if it already happened, instead of applying it twice or refusing it by its own `ifMatch`.
 * The same key with a different patch, status or create is a `ValidationError` (400): a key
 * names one write, not an intent. Default: a new key per call (its own retries reuse it).
 */
export interface KeyedWriteOptions extends WriteOptions {
  idempotencyKey?: string;
}

interface CallSpec {
  json?: unknown;
  query?: Record<string, string | number | undefined>;
  headers?: Record<string, string>;
  contentType?: string;
  idempotent: boolean;
  /** What the hub answers (an intent unless said otherwise). */
  shape?: Shape;
}

/**
 * Intents: shared, versioned work items.
 *
 * Fail-open answers (availability failures with `failOpen: true`): calls that return an intent
 * or an event resolve `undefined`; `list` and `events` resolve an empty page `{ data: [] }`.
 * Caller errors always throw: `ValidationError` (naming the field), `NotFoundError`,
 * `ConflictError` (with `currentVersion`), `InvalidTransitionError`, `AuthenticationError`, ...
 */
export class IntentsApi {
  readonly #ctx: ApiContext;

  constructor(ctx: ApiContext) {
    this.#ctx = ctx;
  }

  /**
   * @example
   * const intent = await chorus.intents.create({ title: "Research X", assignees: ["researcher"] });
   */
  async create(input: IntentCreate, options: KeyedWriteOptions = {}): Promise<Intent | undefined> {
    const s = await schemas();
    checkShape(s, (input as { state?: unknown } | undefined)?.state, "state", 2);
    const body = parseOrThrow(s.intentCreateSchema, input);
    return this.#call("intents.create", undefined, "POST", "/v1/intents", {
      json: body,
      headers: this.#keyed(s, this.#actor(s, options), options.idempotencyKey),
      idempotent: true,
    });
  }

  async get(id: string): Promise<Intent | undefined> {
    const s = await schemas();
    return this.#call("intents.get", undefined, "GET", `/v1/intents/${this.#id(s, id)}`, {
      idempotent: true,
    });
  }

  async list(query: IntentListQuery = {}): Promise<IntentPage> {
    const s = await schemas();
    const parsed = parseOrThrow(s.intentListQuerySchema, query);
    return this.#call("intents.list", { data: [] } as IntentPage, "GET", "/v1/intents", {
      query: parsed,
      idempotent: true,
      shape: "page",
    });
  }

  /**
   * Merge-patch the state (RFC 7396: `null` deletes a key). With `ifMatch` the write happens
   * only at that version; otherwise it throws `ConflictError` carrying `currentVersion`.
   *
   * @example
   * await chorus.intents.patchState(intent.id, { stage: "writing" }, { ifMatch: intent.version });
   */
  async patchState(
    id: string,
    patch: Record<string, unknown>,
    options: KeyedWriteOptions & { ifMatch?: number } = {},
  ): Promise<Intent | undefined> {
    const s = await schemas();
    checkShape(s, patch, "patch", 1); // the patch is the whole body
    const body = parseOrThrow(s.jsonObjectSchema, patch, "patch");
    const headers = this.#keyed(
      s,
      conditional(this.#actor(s, options), options.ifMatch),
      options.idempotencyKey,
    );
    return this.#call(
      "intents.patchState",
      undefined,
      "PATCH",
      `/v1/intents/${this.#id(s, id)}/state`,
      {
        json: body,
        contentType: "application/merge-patch+json",
        headers,
        idempotent: true, // keyed (#keyed)
      },
    );
  }

  /**
   * Change the status. With `ifMatch` the hub applies it only while the intent is at that
   * version (else `ConflictError` with `currentVersion`).
   */
  async setStatus(
    id: string,
    status: IntentStatus,
    options: KeyedWriteOptions & { reason?: string; ifMatch?: number } = {},
  ): Promise<Intent | undefined> {
    const s = await schemas();
    const { actor, ifMatch, idempotencyKey, ...change } = options;
    const body = parseOrThrow(s.intentStatusChangeSchema, { status, ...change });
    return this.#call(
      "intents.setStatus",
      undefined,
      "POST",
      `/v1/intents/${this.#id(s, id)}/status`,
      {
        json: body,
        headers: this.#keyed(s, conditional(this.#actor(s, { actor }), ifMatch), idempotencyKey),
        idempotent: true, // keyed (#keyed)
      },
    );
  }

  /** Add an assignee. Assigning twice leaves the same set, so retries are harmless. */
  async assign(id: string, agent: string, options: WriteOptions = {}): Promise<Intent | undefined> {
    const s = await schemas();
    const name = encodeURIComponent(parseOrThrow(s.nameSchema, agent, "agent"));
    const path = `/v1/intents/${this.#id(s, id)}/assignees/${name}`;
    return this.#call("intents.assign", undefined, "POST", path, {
      headers: this.#actor(s, options),
      idempotent: true,
    });
  }

  async unassign(
    id: string,
    agent: string,
    options: WriteOptions = {},
  ): Promise<Intent | undefined> {
    const s = await schemas();
    const name = encodeURIComponent(parseOrThrow(s.nameSchema, agent, "agent"));
    const path = `/v1/intents/${this.#id(s, id)}/assignees/${name}`;
    return this.#call("intents.unassign", undefined, "DELETE", path, {
      headers: this.#actor(s, options),
      idempotent: true,
    });
  }

  /** Post `intent.comment` to the intent's log. `agent` defaults like a write's `actor`. */
  async comment(
    id: string,
    text: string,
    options: {
      agent?: string;
      payload?: Record<string, unknown>;
      metadata?: Record<string, unknown>;
    } = {},
  ): Promise<PostedIntentEvent | undefined> {
    return this.post(id, { ...options, type: "intent.comment", text });
  }

  /** Post a comment or a custom `intent.*` event to the intent's log. Retries are deduplicated by id. */
  async post(id: string, input: IntentEventInput): Promise<PostedIntentEvent | undefined> {
    const s = await schemas();
    checkShape(s, input?.payload, "payload", 2);
    checkShape(s, input?.metadata, "metadata", 2);
    const agent = input.agent ?? this.#agentFromContext();
    const body = parseOrThrow(s.intentEventInputSchema, {
      ...input,
      id: input.id ?? this.#ctx.newId(),
      ...(agent === undefined ? {} : { agent }),
    });
    return this.#call("intents.post", undefined, "POST", `/v1/intents/${this.#id(s, id)}/events`, {
      json: body,
      idempotent: true,
      shape: "object",
    });
  }

  /** One page of the intent's log, oldest first. */
  async events(
    id: string,
    query: Pick<EventQuery, "type" | "after" | "limit"> = {},
  ): Promise<Page<ChorusEvent>> {
    const s = await schemas();
    const parsed = parseOrThrow(s.intentLogQuerySchema, query);
    const path = `/v1/intents/${this.#id(s, id)}/events`;
    return this.#call("intents.events", { data: [] } as Page<ChorusEvent>, "GET", path, {
      query: parsed,
      idempotent: true,
      shape: "page",
    });
  }

  #id(s: Schemas, id: string): string {
    return encodeURIComponent(parseOrThrow(s.idSchema, id, "id"));
  }

  #agentFromContext(): string | undefined {
    return this.#ctx.agent();
  }

  /**
   * `headers` with the write's `Idempotency-Key` (the caller's, else a new one), sent again with
   * each of its retries, so the hub answers a resent write that already happened (its answer was lost)
   * with the intent as it is now, instead of applying it twice or refusing it by its own
   * `If-Match`. This is what makes creates, blind patches and status changes safe to retry.
   */
  #keyed(
    s: Schemas,
    headers: Record<string, string>,
    key: string | undefined,
  ): Record<string, string> {
    headers[IDEMPOTENCY_KEY_HEADER] =
      key === undefined ? this.#ctx.newId() : parseOrThrow(s.idSchema, key, "idempotencyKey");
    return headers;
  }

  /** The `Chorus-Agent` header of a write, when an actor is known. */
  #actor(s: Schemas, options: WriteOptions): Record<string, string> {
    const actor = options.actor ?? this.#agentFromContext();
    if (actor === undefined) return {};
    // A header carries bytes: the name goes as its UTF-8, one character per byte (`fetch`
    // refuses characters past U+00FF; the hub reads the bytes as UTF-8).
    const bytes = new TextEncoder().encode(parseOrThrow(s.nameSchema, actor, "actor"));
    return { [AGENT_HEADER]: String.fromCharCode(...bytes) };
  }

  #call<T>(
    operation: string,
    fallback: T,
    method: HttpMethod,
    path: string,
    spec: CallSpec,
  ): Promise<T> {
    return failOpen(this.#ctx.policy, operation, fallback, async () => {
      const response = await this.#ctx.transport.call(
        {
          method,
          path,
          ...(spec.json === undefined ? {} : { json: spec.json }),
          ...(spec.query === undefined ? {} : { query: spec.query }),
          ...(spec.headers === undefined ? {} : { headers: spec.headers }),
          ...(spec.contentType === undefined ? {} : { contentType: spec.contentType }),
        },
        { idempotent: spec.idempotent },
      );
      return answer<T>(response, spec.shape ?? "intent", operation);
    });
  }
}

/**
 * The hub refuses `__proto__` keys and nesting past its depth limit; the schema's copy of the
 * value would silently drop such a key (and a deep value would overflow the stack), so the
 * value is checked as given.
 */
function checkShape(s: Schemas, value: unknown, field: string, depth: number): void {
  const problem = s.jsonShapeProblem(value, field, depth);
  if (problem !== undefined) throw new ValidationError(problem, { field });
}

/** `headers` with `If-Match: <ifMatch>` when a version is given (checked: a positive integer). */
function conditional(
  headers: Record<string, string>,
  ifMatch: number | undefined,
): Record<string, string> {
  if (ifMatch === undefined) return headers;
  if (!Number.isInteger(ifMatch) || ifMatch < 1) {
    throw invalidArgument("ifMatch", "must be a positive integer version");
  }
  headers["if-match"] = String(ifMatch);
  return headers;
}
