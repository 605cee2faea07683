import { type ChildProcess, fork } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));

/** A request to a child and its answer, matched by `id`. */
interface Envelope {
  id: number;
  op: string;
  [key: string]: unknown;
}

/**
 * A bench child process (a hub, or a set of receivers) that answers requests over the IPC
 * channel. Children are separate processes so the work they do (delivery, parsing) is billed
 * to them, not to the publisher that measures.
 */
export class Child {
  readonly process: ChildProcess;
  #next = 1;
  readonly #pending = new Map<number, { resolve(v: any): void; reject(e: Error): void }>();
  readonly #listeners = new Set<(message: any) => void>();
  readonly exited: Promise<number | null>;

  constructor(entry: string, options: { env?: Record<string, string>; execArgv?: string[] } = {}) {
    this.process = fork(join(HERE, entry), [], {
      env: { ...process.env, ...options.env },
      execArgv: options.execArgv ?? [],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.exited = new Promise((resolve) => this.process.once("exit", (code) => resolve(code)));
    this.process.on("message", (message: any) => {
      if (typeof message?.reply === "number") {
        const pending = this.#pending.get(message.reply);
        if (!pending) return;
        this.#pending.delete(message.reply);
        if (message.error) pending.reject(new Error(message.error));
        else pending.resolve(message);
        return;
      }
      for (const listener of this.#listeners) listener(message);
    });
    void this.exited.then((code) => {
      for (const { reject } of this.#pending.values())
        reject(new Error(`${entry} exited (${code}) before answering`));
      this.#pending.clear();
    });
  }

  get pid(): number {
    return this.process.pid as number;
  }

  request<T = any>(op: string, fields: Record<string, unknown> = {}): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.process.send({ id, op, ...fields } satisfies Envelope);
    });
  }

  /** Messages the child sends on its own (not answers). */
  on(listener: (message: any) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async stop(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    await this.request("exit").catch(() => {});
    const exited = await Promise.race([this.exited.then(() => true), sleepFalse(10_000)]);
    if (!exited) this.process.kill("SIGKILL");
  }
}

function sleepFalse(ms: number): Promise<false> {
  return new Promise((resolve) => setTimeout(() => resolve(false), ms).unref());
}

/** The child side: answer each request with what `handle` returns (or its error). */
export function serve(handle: (message: Envelope) => Promise<Record<string, unknown> | undefined>) {
  process.on("message", (message: Envelope) => {
    handle(message).then(
      (answer) => process.send?.({ reply: message.id, ...answer }),
      (error: unknown) => process.send?.({ reply: message.id, error: String(error) }),
    );
  });
  process.on("disconnect", () => process.exit(0));
}
