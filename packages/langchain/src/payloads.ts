/*
 * What this adapter adds to the canonical payloads of @chorus/protocol (re-exported by
 * @chorus/core): a tool call reference with its arguments, and the extra event types.
 */

export interface ToolCallRef {
  name: string;
  callId?: string;
  /** Dropped with `capture: "metadata"`. */
  arguments?: unknown;
}

/** Event types this adapter adds to the canonical ones (any dotted name is allowed). */
export const AdapterEventTypes = {
  /** Nested chains, only with `verbose: true`. */
  ChainStart: "chain.start",
  ChainEnd: "chain.end",
  ChainError: "chain.error",
  RetrieverStart: "retriever.start",
  RetrieverEnd: "retriever.end",
  RetrieverError: "retriever.error",
  /** A legacy `AgentExecutor` chose a tool. */
  AgentAction: "agent.action",
} as const;
