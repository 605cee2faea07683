import { mergeUsage, type StreamUsage } from "./usage.js";
import { isObj, type Obj, str } from "./values.js";

/**
 * Text kept per streamed message for `agent.message` and `llm.end`. Core cuts strings at 4 KiB
 * by default anyway; 256 Ki characters leaves room for a raised `maxStringLength` while a
 * runaway generation cannot hold more than this in memory on our side.
 */
export const MAX_STREAM_TEXT_CHARS = 256 * 1024;
/** Tool input JSON kept per block: enough for any sane arguments, bounded for an insane one. */
export const MAX_TOOL_INPUT_CHARS = 1024 * 1024;

interface Block {
  type: string;
  text?: string;
  id?: string;
  name?: string;
  json?: string;
  input?: unknown;
  truncated?: boolean;
}

/**
 * Rebuilds what a Messages API stream says, one event at a time, as the caller's read delivers
 * them: model and usage from `message_start` (input tokens are only there), the stop reason and
 * output tokens from `message_delta`, text and tool input from the content block events. Holds
 * only what the events add up to (bounded), never the events themselves.
 */
export class StreamAccumulator {
  readonly #keepContent: boolean;
  #message: Obj | undefined;
  readonly #usage: StreamUsage = {};
  readonly #blocks: Block[] = [];
  #stopReason: string | undefined;
  #sawDelta = false;
  #complete = false;

  /** `keepContent: false` (capture "metadata") keeps ids, names and counts but no text. */
  constructor(keepContent: boolean) {
    this.#keepContent = keepContent;
  }

  /** Whether `message_delta` or `message_stop` arrived: the usage and stop reason are final. */
  get complete(): boolean {
    return this.#complete;
  }

  /**
   * Take one event. Returns the text of a `text_delta` (for opt-in token events) and whether it
   * was the first delta of the stream (for time to first token).
   */
  add(event: unknown): { token?: string; first: boolean } {
    if (!isObj(event)) return { first: false };
    switch (event.type) {
      case "message_start": {
        const message = isObj(event.message) ? event.message : {};
        this.#message = { id: message.id, model: message.model, role: message.role };
        mergeUsage(this.#usage, message.usage);
        return { first: false };
      }
      case "content_block_start": {
        const block = isObj(event.content_block) ? event.content_block : {};
        this.#setBlock(event.index, {
          type: str(block.type) ?? "unknown",
          ...(typeof block.id === "string" ? { id: block.id } : {}),
          ...(typeof block.name === "string" ? { name: block.name } : {}),
          ...(this.#keepContent && typeof block.text === "string" ? { text: block.text } : {}),
          ...(isObj(block.input) && Object.keys(block.input).length > 0
            ? { input: block.input }
            : {}),
        });
        return { first: false };
      }
      case "content_block_delta":
        return this.#addDelta(event);
      case "content_block_stop": {
        const block = this.#blockAt(event.index);
        if (block?.json !== undefined) block.input = parseToolInput(block.json);
        return { first: false };
      }
      case "message_delta": {
        const delta = isObj(event.delta) ? event.delta : {};
        const stop = str(delta.stop_reason);
        if (stop !== undefined) this.#stopReason = stop;
        mergeUsage(this.#usage, event.usage);
        this.#complete = true;
        return { first: false };
      }
      case "message_stop":
        this.#complete = true;
        return { first: false };
      default:
        return { first: false };
    }
  }

  /** A Message-shaped object of what was read so far, for the same mapping as a plain response. */
  message(): Obj {
    const content: Obj[] = [];
    for (const block of this.#blocks) {
      if (block === undefined) continue;
      if (block.type === "text") {
        content.push({ type: "text", text: block.text ?? "" });
      } else if (block.type === "tool_use" || block.type === "server_tool_use") {
        const input = block.input ?? (block.json !== undefined ? parseToolInput(block.json) : {});
        content.push({ type: block.type, id: block.id, name: block.name, input });
      } else {
        content.push({ type: block.type });
      }
    }
    const start = this.#message;
    return {
      id: start?.id,
      model: start?.model,
      role: start?.role,
      content,
      usage: this.#usage,
      stop_reason: this.#stopReason,
    };
  }

  /** Whether text or tool input was cut at the bounds above. */
  get truncated(): boolean {
    return this.#blocks.some((block) => block?.truncated === true);
  }

  #addDelta(event: Obj): { token?: string; first: boolean } {
    const first = !this.#sawDelta;
    this.#sawDelta = true;
    const delta = isObj(event.delta) ? event.delta : {};
    const block = this.#blockAt(event.index);
    if (delta.type === "text_delta" && typeof delta.text === "string") {
      if (block && this.#keepContent)
        block.text = append(block, block.text, delta.text, MAX_STREAM_TEXT_CHARS);
      return { token: delta.text, first };
    }
    if (delta.type === "input_json_delta" && typeof delta.partial_json === "string" && block) {
      // Ids and names are needed even without content; the arguments only with it.
      if (this.#keepContent)
        block.json = append(block, block.json, delta.partial_json, MAX_TOOL_INPUT_CHARS);
    }
    return { first };
  }

  #setBlock(index: unknown, block: Block): void {
    // Indexes come from the server; a nonsense one must not allocate a huge sparse array.
    if (
      typeof index === "number" &&
      Number.isInteger(index) &&
      index >= 0 &&
      index <= this.#blocks.length
    ) {
      this.#blocks[index] = block;
    }
  }

  #blockAt(index: unknown): Block | undefined {
    return typeof index === "number" ? this.#blocks[index] : undefined;
  }
}

function append(block: Block, current: string | undefined, more: string, max: number): string {
  const base = current ?? "";
  if (base.length >= max) {
    block.truncated = true;
    return base;
  }
  if (base.length + more.length > max) {
    block.truncated = true;
    return base + more.slice(0, max - base.length);
  }
  return base + more;
}

/** Tool input from its streamed JSON: `{}` when empty (as the SDK does), the raw text if it does not parse. */
function parseToolInput(json: string): unknown {
  if (json === "") return {};
  try {
    return JSON.parse(json);
  } catch {
    return json;
  }
}
