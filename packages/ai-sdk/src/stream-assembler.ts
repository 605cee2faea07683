import { isObj, type Obj, str } from "./values.js";

/** Stream parts after which the model has begun answering (for time to first token). */
const FIRST_OUTPUT = new Set([
  "text-delta",
  "reasoning-delta",
  "tool-input-start",
  "tool-call",
  "file",
]);

/**
 * Rebuilds, from a `doStream` stream's parts, what `doGenerate` would have answered: content
 * parts (text joined per text block, tool calls, provider-executed tool results), finish reason,
 * usage and response metadata. It keeps only what the events need: reasoning and raw chunks are
 * counted as output for the first token but not kept.
 */
export class StreamAssembler {
  readonly #content: Obj[] = [];
  /** Open text blocks by id; a block's deltas are joined into one part. */
  readonly #texts = new Map<string, { type: "text"; text: string }>();
  finishReason: unknown;
  usage: unknown;
  error: unknown;
  finished = false;
  readonly response: Obj = {};

  /** Take one part. `first`: the first output of the answer; `delta`: streamed text to relay. */
  add(part: unknown): { first: boolean; delta?: string } {
    if (!isObj(part)) return { first: false };
    const type = str(part.type);
    const first = type !== undefined && FIRST_OUTPUT.has(type);
    switch (type) {
      case "text-start":
        this.#textBlock(part);
        break;
      case "text-delta": {
        const delta = str(part.delta) ?? "";
        this.#textBlock(part).text += delta;
        return { first, delta };
      }
      case "tool-call":
      case "tool-result":
        this.#content.push(part);
        break;
      case "response-metadata":
        for (const key of ["id", "modelId", "timestamp"] as const) {
          if (part[key] !== undefined) this.response[key] = part[key];
        }
        break;
      case "finish":
        this.finished = true;
        this.finishReason = part.finishReason;
        this.usage = part.usage;
        break;
      case "error":
        this.error = part.error;
        break;
    }
    return { first };
  }

  /** The answer's content parts, in the order they began. */
  content(): readonly Obj[] {
    return this.#content;
  }

  #textBlock(part: Obj): { type: "text"; text: string } {
    const id = str(part.id) ?? "";
    let block = this.#texts.get(id);
    if (block === undefined) {
      block = { type: "text", text: "" };
      this.#texts.set(id, block);
      this.#content.push(block);
    }
    return block;
  }
}
