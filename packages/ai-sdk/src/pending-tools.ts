import type { SpanRef } from "@chorus/core/adapter-kit";

/**
 * Tool calls a model asked for whose results have not come back in a later step's prompt yet. A
 * loop that stops after running its tools never sends those results, so this must not grow
 * forever: 1000 outstanding calls is far more than any live tool loop has, and the oldest is the
 * one least likely to still get an answer, so it is the one evicted.
 */
export const MAX_PENDING_TOOLS = 1000;

export interface PendingTool {
  name: string;
  /** `performance.now()` when the model asked for it, for the tool's latency. */
  startedAt: number;
  /** The tool's own span: its end carries the same ids as its start. */
  span: SpanRef;
  /** The span the asking model call hung under: the next step of the loop hangs there too. */
  step: SpanRef;
}

/** What tells two tool calls apart: the id a model gave, then the tool's name and arguments. */
export interface ToolCallKey {
  callId: string;
  name?: string | undefined;
  input?: unknown;
}

interface Entry<V> {
  order: number;
  callId: string;
  name: string | undefined;
  /** The call's arguments; serialized only when ids collide, to compare. */
  input: unknown;
  value: V;
}

function argsOf(input: unknown): string | undefined {
  if (input === undefined) return undefined;
  try {
    return JSON.stringify(input);
  } catch {
    return undefined;
  }
}

/**
 * Tool calls by id, bounded (oldest evicted first), where one id may stand for several calls.
 * Many providers number tool calls per answer (`call_0`, Ollama and OpenAI-compatible servers),
 * so concurrent loops through one middleware ask with the same ids: keyed by id alone, the later
 * call replaced the earlier, and the earlier loop's next step joined the other loop's trace. A
 * result is matched to the call with its id and the same tool name and arguments, else the same
 * name, else the oldest with its id. Calls no prompt tells apart (same id, tool and arguments)
 * are paired oldest first: either pairing tells the same story.
 */
export class ToolCallIndex<V> {
  readonly #byId = new Map<string, Entry<V>[]>();
  /** Every entry in the order it came, for the bound. */
  readonly #all = new Map<number, Entry<V>>();
  readonly #limit: number;
  #order = 0;

  constructor(limit: number) {
    this.#limit = Math.max(1, Math.floor(limit));
  }

  get size(): number {
    return this.#all.size;
  }

  set(key: ToolCallKey, value: V): void {
    const entry: Entry<V> = {
      order: this.#order++,
      callId: key.callId,
      name: key.name,
      input: key.input,
      value,
    };
    const same = this.#byId.get(key.callId);
    if (same) same.push(entry);
    else this.#byId.set(key.callId, [entry]);
    this.#all.set(entry.order, entry);
    while (this.#all.size > this.#limit) {
      const oldest = this.#all.values().next().value as Entry<V>;
      this.#remove(oldest);
    }
  }

  get(key: ToolCallKey): V | undefined {
    return this.#find(key)?.value;
  }

  take(key: ToolCallKey): V | undefined {
    const entry = this.#find(key);
    if (entry === undefined) return undefined;
    this.#remove(entry);
    return entry.value;
  }

  #find(key: ToolCallKey): Entry<V> | undefined {
    const same = this.#byId.get(key.callId);
    if (same === undefined) return undefined;
    if (same.length === 1 || key.name === undefined) return same[0];
    const args = argsOf(key.input);
    let named: Entry<V> | undefined;
    for (const entry of same) {
      if (entry.name !== key.name) continue;
      if (args !== undefined && argsOf(entry.input) === args) return entry;
      named ??= entry;
    }
    return named ?? same[0];
  }

  #remove(entry: Entry<V>): void {
    this.#all.delete(entry.order);
    const same = this.#byId.get(entry.callId);
    if (same === undefined) return;
    const at = same.indexOf(entry);
    if (at >= 0) same.splice(at, 1);
    if (same.length === 0) this.#byId.delete(entry.callId);
  }
}
