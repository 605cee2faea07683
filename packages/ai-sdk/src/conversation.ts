/**
 * Digests of a prompt's leading messages, to tell which conversation a tool result belongs to.
 *
 * The SDK hands every step of a tool loop the whole conversation: the prompt of the step that
 * asked for a tool, then the assistant message carrying the call, then the tool message with its
 * result. So the messages before that assistant message are exactly the asking step's prompt, and
 * their digest names the run a result belongs to, whatever ids the provider gave its calls.
 *
 * The digest is two 32-bit multiplicative hashes over a walk of the messages (strings, numbers,
 * keys in order; `undefined` skipped as JSON does, and `providerOptions`, hints such as cache
 * control that a middleware may set on the last message of each call, skipped too), computed
 * lazily and at most once per message, and only for a call that asks for tools or whose prompt
 * carries tool results while calls are outstanding. It costs one walk of the prompt (about 3 µs
 * for a short one, 0.25 ms for 100 KB of text), bounded so a large one stays cheap: a string or
 * a binary file longer than {@link FULL} is read at its head, its tail and evenly spaced points
 * in between (with its length), and a message stops being read after {@link BUDGET} values. Two
 * prompts that differ only where it did not read count as one conversation (see `ToolCalls`).
 */
const FULL = 8192;
const SAMPLES = 4096;
const BUDGET = 65_536;
const MAX_DEPTH = 64;

class Hasher {
  a = 0x9e3779b9;
  b = 0x85ebca6b;
  budget = BUDGET;

  code(c: number): void {
    this.a = Math.imul(this.a ^ c, 2654435761);
    this.b = Math.imul(this.b ^ c, 1597334677);
  }

  text(s: string): void {
    const n = s.length;
    this.code(n);
    if (n <= FULL) {
      this.chars(s, 0, n, 1);
      return;
    }
    this.chars(s, 0, SAMPLES / 2, 1);
    this.chars(s, SAMPLES / 2, n - SAMPLES / 2, (n - SAMPLES) / SAMPLES);
    this.chars(s, n - SAMPLES / 2, n, 1);
  }

  /** Characters `from`, `from + step`, … before `to`, in local variables (the hot loop). */
  chars(s: string, from: number, to: number, step: number): void {
    let a = this.a;
    let b = this.b;
    if (step === 1) {
      for (let i = from; i < to; i++) {
        const c = s.charCodeAt(i);
        a = Math.imul(a ^ c, 2654435761);
        b = Math.imul(b ^ c, 1597334677);
      }
    } else {
      for (let i = from; i < to; i += step) {
        const c = s.charCodeAt(Math.floor(i));
        a = Math.imul(a ^ c, 2654435761);
        b = Math.imul(b ^ c, 1597334677);
      }
    }
    this.a = a;
    this.b = b;
  }

  bytes(view: ArrayBufferView): void {
    const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    const n = bytes.length;
    this.code(n);
    const step = n <= FULL ? 1 : n / SAMPLES;
    let a = this.a;
    let b = this.b;
    for (let i = 0; i < n; i += step) {
      const c = bytes[Math.floor(i)] as number;
      a = Math.imul(a ^ c, 2654435761);
      b = Math.imul(b ^ c, 1597334677);
    }
    this.a = a;
    this.b = b;
    if (n > 0) this.code(bytes[n - 1] as number);
  }

  value(v: unknown, depth: number): void {
    if (this.budget-- <= 0) return;
    switch (typeof v) {
      case "string":
        this.code(1);
        this.text(v);
        return;
      case "number":
      case "bigint":
        this.code(2);
        this.text(String(v));
        return;
      case "boolean":
        this.code(v ? 3 : 4);
        return;
      case "object":
        break;
      default:
        this.code(5); // undefined, functions, symbols: as JSON would, nothing but their place
        return;
    }
    if (v === null) {
      this.code(6);
      return;
    }
    if (depth >= MAX_DEPTH) {
      this.code(7);
      return;
    }
    if (Array.isArray(v)) {
      this.code(8);
      for (const item of v) this.value(item, depth + 1);
      this.code(9);
      return;
    }
    if (ArrayBuffer.isView(v)) {
      this.code(10);
      this.bytes(v);
      return;
    }
    if (v instanceof ArrayBuffer) {
      this.code(10);
      this.bytes(new Uint8Array(v));
      return;
    }
    if (v instanceof URL) {
      this.code(11);
      this.text(v.href);
      return;
    }
    this.code(12);
    for (const key of Object.keys(v)) {
      const item = (v as Record<string, unknown>)[key];
      // Provider hints (cache control, …) are not what was said; a middleware may move them.
      if (item === undefined || key === "providerOptions") continue;
      this.text(key);
      this.value(item, depth + 1);
    }
    this.code(13);
  }

  digest(): string {
    // A final mix of both lanes, so prefixes that end alike still part.
    let a = this.a ^ (this.b >>> 15);
    let b = this.b ^ (this.a >>> 13);
    a = Math.imul(a ^ (a >>> 16), 2246822507) ^ Math.imul(b ^ (b >>> 13), 3266489909);
    b = Math.imul(b ^ (b >>> 16), 2246822507) ^ Math.imul(a ^ (a >>> 13), 3266489909);
    return (a >>> 0).toString(16).padStart(8, "0") + (b >>> 0).toString(16).padStart(8, "0");
  }
}

/** Digests of the first `n` messages of one prompt, for any `n`, each message walked once. */
export class PromptDigests {
  readonly #messages: readonly unknown[];
  readonly #hasher = new Hasher();
  /** `#digests[n]`: the digest of the first `n` messages, as far as computed. */
  readonly #digests: string[];

  constructor(messages: readonly unknown[]) {
    this.#messages = messages;
    this.#digests = [this.#hasher.digest()];
  }

  /** The digest of the first `n` messages (all of them when `n` is past the end). */
  upTo(n: number): string {
    const end = Math.max(0, Math.min(n, this.#messages.length));
    while (this.#digests.length <= end) {
      const hasher = this.#hasher;
      hasher.budget = BUDGET;
      hasher.code(14);
      hasher.value(this.#messages[this.#digests.length - 1], 0);
      this.#digests.push(hasher.digest());
    }
    return this.#digests[end] as string;
  }

  /** The digest of the whole prompt. */
  all(): string {
    return this.upTo(this.#messages.length);
  }
}
