import type { HubLogger } from "./config.js";

/** After a write failed because storage was unavailable, `/readyz` answers 503 this long. */
export const STORAGE_TROUBLE_MS = 10_000;
/** At most one warning per this long while storage keeps failing (each request would log one). */
const WARN_EVERY_MS = 10_000;

/**
 * Remembers that storage failed for a reason of its own (Postgres away, a full disk, an I/O
 * error) rather than the request's: the request got a 503, the operator gets a warning (rate
 * limited), and `/readyz` fails until an event write goes through or {@link STORAGE_TROUBLE_MS} has
 * passed (a balancer that stops sending writes to a hub must not keep it out for good). A
 * SQLite file on a full disk still answers `SELECT 1`: without this the hub would call itself
 * ready while refusing every write.
 */
export class StorageTrouble {
  readonly #logger: HubLogger;
  #lastAt = Number.NEGATIVE_INFINITY;
  #lastWarnAt = Number.NEGATIVE_INFINITY;
  #lastMessage = "";

  constructor(logger: HubLogger) {
    this.#logger = logger;
  }

  report(error: unknown, where: string): void {
    const now = Date.now();
    this.#lastAt = now;
    this.#lastMessage = error instanceof Error ? error.message : String(error);
    if (now - this.#lastWarnAt < WARN_EVERY_MS) return;
    this.#lastWarnAt = now;
    this.#logger.warn("storage unavailable; writes answer 503 until it is back", {
      where,
      error: this.#lastMessage,
    });
  }

  /** An event write went through (`storeAndPublish`): storage is back. */
  clear(): void {
    this.#lastAt = Number.NEGATIVE_INFINITY;
  }

  /** The last failure's message, while it is recent; undefined otherwise. */
  recent(): string | undefined {
    return Date.now() - this.#lastAt < STORAGE_TROUBLE_MS ? this.#lastMessage : undefined;
  }
}
