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

/**
 * What tells two tool calls apart: the conversation they were asked in, the id a model gave, the
 * tool's name and arguments.
 */
export interface ToolCallKey {
  callId: string;
  name?: string | undefined;
  input?: unknown;
  /** Digest of the prompt of the step that asked (see `PromptDigests`). */
  conversation?: string | undefined;
  /** A result in its prompt's last message (what a loop's next step hands back), not history. */
  latest?: boolean | undefined;
}

function argsOf(input: unknown): string | undefined {
  if (input === undefined) return undefined;
  try {
    return JSON.stringify(input);
  } catch {
    return undefined;
  }
}

/** What an index holds about one call. */
export interface Found<V> {
  /** When the call was asked, in the order of every call one {@link ToolCalls} saw. */
  asked: number;
  value: V;
}

interface Entry<V> extends Found<V> {
  /** Insertion order, the key of the bound. */
  order: number;
  callId: string;
  name: string | undefined;
  /** The call's arguments; serialized only when ids collide, to compare. */
  input: unknown;
  conversation: string | undefined;
}

/**
 * Tool calls by id, bounded (oldest evicted first), where one id may stand for several calls.
 * {@link ToolCalls} says which of them a result answers.
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

  set(key: ToolCallKey, value: V, asked: number): void {
    const entry: Entry<V> = {
      order: this.#order++,
      asked,
      callId: key.callId,
      name: key.name,
      input: key.input,
      conversation: key.conversation,
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

  /**
   * The newest call with the key's id asked in the key's conversation, preferring the same tool
   * name and arguments; or, `anyConversation`, the newest with its id, name and arguments, else
   * its id and name.
   */
  find(key: ToolCallKey, anyConversation: boolean): Found<V> | undefined {
    const same = this.#byId.get(key.callId);
    if (same === undefined) return undefined;
    let args: string | undefined | null = null; // serialized on first need
    const sameArgs = (entry: Entry<V>): boolean => {
      if (same.length === 1) return true;
      if (args === null) args = argsOf(key.input);
      return args !== undefined && argsOf(entry.input) === args;
    };
    const sameName = (entry: Entry<V>) => key.name === undefined || entry.name === key.name;
    let fallback: Entry<V> | undefined;
    for (let i = same.length - 1; i >= 0; i--) {
      const entry = same[i] as Entry<V>;
      if (anyConversation) {
        if (!sameName(entry)) continue;
      } else if (key.conversation === undefined || entry.conversation !== key.conversation) {
        continue;
      }
      if (sameName(entry) && sameArgs(entry)) return entry;
      fallback ??= entry;
    }
    return fallback;
  }

  delete(found: Found<V>): void {
    this.#remove(found as Entry<V>);
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

/**
 * The tool calls one middleware saw: those still waiting for their result (`pending`), and the
 * step that asked for each answered one (`answered`, so a step sent again with the same results
 * is still known as the same loop). Each is bounded by {@link MAX_PENDING_TOOLS}, oldest evicted
 * first.
 *
 * Which call a result answers. Many providers number tool calls per answer (`call_0`: mock
 * models, Ollama, OpenAI-compatible servers), so every run asks with the same ids, and a run that
 * died at its tool call (its loop stopped after the tools ran, the app aborted it) leaves its call
 * pending for good. An id alone cannot tell runs apart; the conversation can. The SDK hands each
 * step the whole prompt, so the messages before the assistant message that carries a call are
 * exactly the prompt of the step that asked for it. The rule:
 *
 * 1. A result answers the pending call with its id asked in the same conversation: the digest of
 *    its prompt before that assistant message equals the digest of the asking step's prompt
 *    (`PromptDigests`), preferring the same tool name and arguments, and of several the newest.
 *    Several are runs no prompt tells apart (the same conversation, ids and arguments: an app
 *    asking again a question whose first run died); newest first, a run that died never takes a
 *    later run's result, and two such runs alive at once can only swap results that nothing in
 *    their prompts told apart. A result whose call in that conversation was already answered
 *    closes nothing (the caller also knows a retried step by its prompt, the very same array).
 * 2. Only when no call of that conversation, pending or answered, has the id (a `prepareStep` or
 *    another middleware rewrote the history between steps), a result in the prompt's last
 *    message (what a loop's next step hands back) answers the newest pending call with its id,
 *    tool name and arguments, else its id and name, unless an answered one is newer.
 * 3. Anything else (an old result in the history of a conversation, under an id some other
 *    run's live call also has) answers nothing.
 */
export class ToolCalls {
  readonly #pending: ToolCallIndex<PendingTool>;
  readonly #answered: ToolCallIndex<SpanRef>;
  #asked = 0;

  constructor(limit: number) {
    this.#pending = new ToolCallIndex(limit);
    this.#answered = new ToolCallIndex(limit);
  }

  /** How many calls are pending, and how many answered are remembered. */
  get size(): { pending: number; answered: number } {
    return { pending: this.#pending.size, answered: this.#answered.size };
  }

  /** A call a model asked for, in the conversation `key.conversation`. */
  asked(key: ToolCallKey, tool: PendingTool): void {
    this.#pending.set(key, tool, this.#asked++);
  }

  /** The pending call this result answers, now answered; undefined for anything else. */
  close(result: ToolCallKey): PendingTool | undefined {
    let call = this.#pending.find(result, false);
    if (call === undefined) {
      if (this.#answered.find(result, false) !== undefined) return undefined;
      const loose = this.#loose(result);
      if (loose === undefined || loose.answered) return undefined;
      call = loose.call;
    }
    this.#pending.delete(call);
    this.#answered.set(result, call.value.step, call.asked);
    return call.value;
  }

  /** The step that asked for the call this result answers, pending or answered. */
  stepOf(result: ToolCallKey): SpanRef | undefined {
    const step =
      this.#pending.find(result, false)?.value.step ?? this.#answered.find(result, false)?.value;
    if (step !== undefined) return step;
    const loose = this.#loose(result);
    if (loose === undefined) return undefined;
    return loose.answered ? loose.call.value : loose.call.value.step;
  }

  /** Rule 2: the newest call with the result's id, name (and arguments) in any conversation. */
  #loose(
    result: ToolCallKey,
  ):
    | { answered: false; call: Found<PendingTool> }
    | { answered: true; call: Found<SpanRef> }
    | undefined {
    if (result.latest !== true) return undefined;
    const open = this.#pending.find(result, true);
    const done = this.#answered.find(result, true);
    if (open !== undefined && (done === undefined || open.asked > done.asked))
      return { answered: false, call: open };
    if (done !== undefined) return { answered: true, call: done };
    return undefined;
  }
}
