import { styleText } from "node:util";

/** Where a command writes. Injected so tests can capture output without spawning a process. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
  /** Whether to colour output (a TTY without NO_COLOR). */
  color: boolean;
}

export const processIo: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
};

export type Style = Parameters<typeof styleText>[0];

/**
 * Characters a terminal acts on rather than shows: C0 and C1 controls and DEL (ESC starts the
 * sequences that move the cursor, erase lines, retitle the window or write the clipboard), and
 * the bidirectional overrides and isolates that reorder what it shows.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds.
const UNSHOWABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text from a hub (or from whatever answers at its URL) made safe to print: every character of
 * {@link UNSHOWABLE} as a visible escape (`\x1b`, `\u202e`), so an event or intent cannot drive
 * the terminal of whoever tails it. Our own colours are added after, by {@link paint}.
 */
export function visible(text: string): string {
  return text.replace(UNSHOWABLE, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/** `text` in a style when the terminal is coloured; made {@link visible} first either way. */
export function paint(io: Pick<Io, "color">, style: Style, text: string): string {
  const shown = visible(text);
  return io.color ? styleText(style, shown) : shown;
}
