import type { CircuitState } from "./circuit-breaker.js";

/** What `chorus.stats()` reports. Counters only grow; `queued*` and `circuit` are current values. */
export interface ChorusStats {
  /** Events waiting for delivery (including a batch in flight). */
  queued: number;
  /** Serialized bytes of the waiting events (including a batch in flight), as `queued` counts them. */
  queuedBytes: number;
  /** Events the hub acknowledged (stored or recognised as duplicates). */
  sent: number;
  /** Events dropped because the queue was full (the oldest go first), or still queued at close. */
  dropped: number;
  /** Batch requests sent again after an availability failure. */
  retried: number;
  /** Events the hub refused (a 4xx on their batch): not retried. */
  failed: number;
  /** Events `emit()` refused because they did not validate (or were too large). */
  invalid: number;
  circuit: CircuitState;
}

/** The client's counters, shared by `emit()` and the flusher. */
export class Counters {
  sent = 0;
  dropped = 0;
  retried = 0;
  failed = 0;
  invalid = 0;
  /** Events ever enqueued, and events that left the queue for good (sent, failed or dropped). */
  enqueued = 0;
  settled = 0;
}
