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

export function paint(io: Pick<Io, "color">, style: Style, text: string): string {
  return io.color ? styleText(style, text) : text;
}
